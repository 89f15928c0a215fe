"""Markdown for offline answers, English and Chinese: verdict first, then a table, what to
change, assumptions and citations. Every number is read from estimator objects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tools.estimator import Estimate, FitMatrix

from .ask import Ask
from .events import Figure, Option
from .strings import LABELS, TARGET_FIELD, TERMS, T


def _cap(text: str) -> str:
    return text if text.startswith("vLLM") else text[:1].upper() + text[1:]


def _where(gpu: str, n: int, lang: str) -> str:
    if lang == "zh":
        return f"{n} 张 {gpu}"
    return f"{n}x {gpu}" if n > 1 else f"one {gpu}"


def _join(items: Sequence[str], lang: str, word: str = "or") -> str:
    if lang == "zh":
        return "或".join(items) if word == "or" else "、".join(items)
    if len(items) <= 2:
        return f" {word} ".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _serve_headline(est: Estimate, lang: str) -> str:
    s, where = est.serving, _where(est.gpu, est.num_gpus, lang)
    assert s is not None
    seq, batch = est.settings["seq_len"], est.settings["batch_size"]
    if lang == "zh":
        head = "**可以。**" if est.fits else "**不行。**"
        if not est.fits and s.max_tokens == 0:
            return (f"{head} {est.model} 在 {where} 上部署不了：权重 {est.per_gpu.weights_gib:.2f} GiB "
                    f"占满了 {s.budget_gib:.2f} GiB 的显存预算，KV cache 池为 0。")
        return (f"{head} {est.model} 在 {where} 上部署：KV cache 池 {s.kv_pool_gib:.2f} GiB 可容纳 "
                f"{s.max_tokens:,} 个 token，即 {s.max_concurrent_seqs} 条 {seq} tokens 的序列"
                f"（要求 {batch} 条）。")
    if not est.fits and s.max_tokens == 0:
        return (f"**No.** {est.model} cannot be served on {where}: the weights "
                f"({est.per_gpu.weights_gib:.2f} GiB per GPU) leave no room for a KV cache in the "
                f"{s.budget_gib:.2f} GiB budget.")
    verdict = "**Yes.**" if est.fits else "**No.**"
    return (f"{verdict} Serving {est.model} on {where}: the KV cache pool ({s.kv_pool_gib:.2f} GiB) "
            f"holds {s.max_tokens:,} tokens, {s.max_concurrent_seqs} concurrent sequences of {seq} "
            f"tokens ({batch} asked for).")


def _headline(ask: Ask, options: list[Option], estimates: list[Estimate], lang: str) -> str:
    lab = LABELS[lang]
    first = options[0]
    serve = [e for e in estimates if e.workload == "serve" and e.serving]
    if len(options) == 1 and first.workload == "serve" and serve:
        return _serve_headline(serve[0], lang)
    model, where, cap = first.model, _where(first.gpu, first.num_gpus, lang), first.capacity_gib
    fitting = [o for o in options if o.fits]
    if len(options) == 1:
        o = first
        if lang == "zh":
            state = "**可以。**" if o.fits else "**不行。**"
            verb = "放得下" if o.fits else "放不下"
            return (f"{state} {model} 的{lab[o.workload]}在 {where} 上{verb}：每张卡需要 "
                    f"{o.total_gib:.2f} GiB，可用 {cap:.2f} GiB。")
        if o.fits:
            return (f"**Yes.** {_cap(lab[o.workload])} of {model} fits on {where}: "
                    f"{o.total_gib:.2f} GiB per GPU of {cap:.2f} GiB usable.")
        return (f"**No.** {_cap(lab[o.workload])} of {model} does not fit on {where}: it "
                f"needs {o.total_gib:.2f} GiB per GPU, but only {cap:.2f} GiB are usable.")
    need = [f"{lab[o.workload]} {o.total_gib:.2f} GiB" for o in options]
    if fitting:
        names = _join([lab[o.workload] for o in fitting], lang)
        if lang == "zh":
            return (f"**可以，用{names}。** 在 {where} 上，{model} 每张卡需要："
                    f"{_join(need, lang, 'and')}（可用 {cap:.2f} GiB）。")
        return (f"**Yes, with {names}.** On {where}, {model} needs per GPU: "
                f"{_join(need, lang, 'and')}, of {cap:.2f} GiB usable.")
    small = min(options, key=lambda o: o.total_gib)
    if lang == "zh":
        return (f"**不行。** {_join([lab[o.workload] for o in options], lang, 'and')}都放不下 "
                f"{model}（{where}，每张卡可用 {cap:.2f} GiB）；最省的{lab[small.workload]}也需要 "
                f"{small.total_gib:.2f} GiB。")
    return (f"**No.** None of {_join([lab[o.workload] for o in options], lang)} fits {model} "
            f"on {where} ({cap:.2f} GiB usable per GPU); the smallest, {lab[small.workload]}, "
            f"needs {small.total_gib:.2f} GiB.")


def breakdown(est: Estimate, lang: str) -> str:
    """The per-GPU terms of one estimate as a Markdown table."""
    head = "| 每张卡 | GiB |" if lang == "zh" else "| per GPU | GiB |"
    lines = [head, "|---|---:|"]
    lines += [f"| {name} | {getattr(est.per_gpu, f):.2f} |" for name, f in TERMS[lang]
              if getattr(est.per_gpu, f) > 0]
    total = "**合计（nvidia-smi）**" if lang == "zh" else "**total (nvidia-smi)**"
    usable = f"{est.gpu} 可用" if lang == "zh" else f"usable on {est.gpu}"
    lines += [f"| {total} | **{est.total_gib:.2f}** |", f"| {usable} | {est.capacity_gib:.2f} |"]
    return "\n".join(lines)


def matrix(fm: FitMatrix, lang: str) -> str:
    """The fit matrix rows as a Markdown table."""
    t = T[lang]
    head = ("| 方式 | 放得下 | 每卡 (GiB) | 可用 (GiB) | 最大 batch | 最长序列 |" if lang == "zh" else
            "| workload | fits | per GPU (GiB) | usable (GiB) | max batch | max seq |")
    lines = [head, "|---|---|---:|---:|---:|---:|"]
    for r in fm.rows:
        if r.error:
            lines.append(f"| {LABELS[lang][r.workload]} | {r.error} | | | | |")
            continue
        lines.append(f"| {LABELS[lang][r.workload]} | {t['fits'] if r.fits else t['nofit']} | "
                     f"{r.total_gib:.2f} | {r.capacity_gib:.2f} | "
                     f"{r.max_batch if r.max_batch is not None else '-'} | "
                     f"{r.max_seq_len if r.max_seq_len is not None else '-'} |")
    return "\n".join(lines)


def _compare(estimates: list[Estimate], lang: str) -> str:
    t = T[lang]
    head = ("| 方式 | 放得下 | 每卡 (GiB) | 可用 (GiB) |" if lang == "zh" else
            "| workload | fits | per GPU (GiB) | usable (GiB) |")
    lines = [head, "|---|---|---:|---:|"]
    lines += [f"| {LABELS[lang][e.workload]} | {t['fits'] if e.fits else t['nofit']} | "
              f"{e.total_gib:.2f} | {e.capacity_gib:.2f} |" for e in estimates]
    return "\n".join(lines)


def _changes(options: list[Option], estimates: list[Estimate], fm: FitMatrix | None,
             lang: str) -> list[str]:
    t, lab = T[lang], LABELS[lang]
    out: list[str] = []
    fitting = [o for o in options if o.fits]
    if fitting and len(fitting) < len(options):
        out.append(t["use"].format(x=_join([lab[o.workload] for o in fitting], lang)))
    seen: set[str] = set()
    for est in estimates:
        for s in est.suggestions:
            if s.change not in seen and len(seen) < 4:
                seen.add(s.change)
                out.append(f"{s.change}: {s.total_gib:.2f} GiB" + ("" if s.fits else t["still"]))
    if fm is None:
        return out
    for r in fm.rows:
        if r.fits and r.max_batch is not None and r.max_seq_len is not None:
            out.append(f"{lab[r.workload]}: batch ≤ {r.max_batch} @ {fm.seq_len} tokens, "
                       f"seq ≤ {r.max_seq_len:,} tokens" if lang == "en" else
                       f"{lab[r.workload]}：{fm.seq_len} tokens 时 batch 最大 {r.max_batch}，"
                       f"序列最长 {r.max_seq_len:,} tokens")
    return out


def _serving(est: Estimate, lang: str) -> str:
    s = est.serving
    if s is None:
        return ""
    seq = est.settings["seq_len"]
    if lang == "zh":
        return (f"KV cache 池 {s.kv_pool_gib:.2f} GiB，可容纳 {s.max_tokens:,} 个 token：{seq} tokens "
                f"的序列可同时 {s.max_concurrent_seqs} 条；单条序列最长 {s.max_model_len:,} tokens。")
    return (f"The KV cache pool ({s.kv_pool_gib:.2f} GiB) holds {s.max_tokens:,} tokens: "
            f"{s.max_concurrent_seqs} concurrent sequences of {seq} tokens; the longest single "
            f"sequence is {s.max_model_len:,} tokens.")


_PER_TOKEN = re.compile(r"per[- ]token|每个?\s*token")


def _number(ask: Ask, estimates: list[Estimate], fm: FitMatrix | None,
            lang: str) -> tuple[list[str], list[Figure]]:
    lab, target = LABELS[lang], ask.target or "total"
    if fm is not None and target in ("max_batch", "max_seq"):
        r = fm.rows[0]
        value = r.max_batch if target == "max_batch" else r.max_seq_len
        what = ("最大 batch" if target == "max_batch" else "最长序列") if lang == "zh" else (
            "Largest batch" if target == "max_batch" else "Longest sequence (tokens)")
        where = _where(fm.gpu, fm.num_gpus, lang)
        shown = f"{value:,}" if value is not None else ("放不下" if lang == "zh" else "does not fit")
        return [f"**{what}: {shown}** — {fm.model}, {lab[r.workload]}, {where}, "
                f"{fm.seq_len} tokens."], []
    est = estimates[0]
    if target == "users" and est.serving:
        head = (f"**{est.serving.max_concurrent_seqs} 条并发序列**" if lang == "zh" else
                f"**{est.serving.max_concurrent_seqs} concurrent sequences**")
        return [f"{head} — " + _serving(est, lang)], [
            Figure(name="kv_pool", gib=est.serving.kv_pool_gib)]
    field = TARGET_FIELD.get(target)
    if field == "kv_cache_gib" and _PER_TOKEN.search(ask.query.lower()):
        tokens = int(str(est.settings["seq_len"])) * int(str(est.settings["batch_size"]))
        per = est.per_gpu.kv_cache_gib * 1024**3 / max(tokens, 1)
        head = (f"**每个 token 的 KV cache：{per / 1024:,.0f} KiB（{per:,.0f} 字节）**" if lang == "zh"
                else f"**KV cache per token: {per / 1024:,.0f} KiB ({per:,.0f} bytes)**")
        return [f"{head} — {est.model}, {est.settings['kv_cache_dtype']}."], [
            Figure(name="kv_cache", gib=est.per_gpu.kv_cache_gib)]
    if field:
        name = dict((f, n) for n, f in TERMS[lang])[field]
        value = getattr(est.per_gpu, field)
        ctx = (f"{est.model}，{lab[est.workload]}，{est.settings['seq_len']} tokens × batch "
               f"{est.settings['batch_size']}" if lang == "zh" else
               f"{est.model}, {lab[est.workload]}, {est.settings['seq_len']} tokens × batch "
               f"{est.settings['batch_size']}, {est.settings['kv_cache_dtype']} cache")
        return [f"**{name}: {value:.2f} GiB** — {ctx}."], [Figure(name=target, gib=value)]
    parts = [f"{lab[e.workload]} {e.total_gib:.2f} GiB" for e in estimates]
    tail = ("（每张卡，nvidia-smi 口径）" if lang == "zh" else
            " per GPU (what nvidia-smi shows)")
    return [f"**{_join(parts, lang, 'and')}**{tail} — {est.model}."], [
        Figure(name=e.workload, gib=e.total_gib) for e in estimates]


def sizing(ask: Ask, options: list[Option], estimates: list[Estimate], fm: FitMatrix | None,
           lang: str) -> tuple[str, list[Figure]]:
    """Headline, table, serving pool, what to change and assumptions."""
    blocks: list[str] = []
    figures: list[Figure] = []
    if ask.intent == "number":
        blocks, figures = _number(ask, estimates, fm, lang)
        if ask.has_gpu and options:
            blocks.append(_headline(ask, options, estimates, lang))
    else:
        blocks.append(_headline(ask, options, estimates, lang))
    considered = [e for e in estimates if e.workload in ask.considered()] or estimates
    if fm is not None:
        blocks.append(matrix(fm, lang))
    elif len(considered) == 1:
        blocks.append(breakdown(considered[0], lang))
    elif considered:
        blocks.append(_compare(considered, lang))
    if not (len(options) == 1 and options[0].workload == "serve"):
        blocks += [_serving(e, lang) for e in considered if e.serving]
    changes = _changes(options, [e for e in estimates if not e.fits], fm, lang)
    if changes and ask.intent == "fit":
        blocks.append(T[lang]["change"] + "\n" + "\n".join(f"- {c}" for c in changes))
    items = [a for e in considered for a in e.assumption_items]
    if fm is not None:
        items = [*fm.assumption_items, *items]
    assumptions = list(dict.fromkeys(a.render(lang) for a in items))
    if assumptions:
        blocks.append(T[lang]["assume"] + ("；" if lang == "zh" else "; ").join(assumptions))
    return "\n\n".join(b for b in blocks if b), figures


def plan(p: Any, others: Sequence[Any], lang: str) -> str:
    """A planner result: the best option first, the ranked table, or what would make it work
    (``others``: options of methods the user did not ask about)."""
    t = T[lang]
    if not p.options:
        lines = [t["plan_no"].format(model=p.model, goal=p.goal)]
        if p.nearest_miss:
            lines.append(t["nearest"] + p.nearest_miss)
        advice = [*p.advice, *(f"{o.label}: {o.total_gib:.2f} / {o.capacity_gib:.2f} GiB"
                               for o in others)]
        if advice:
            lines += ["", t["change"]] + [f"- {a}" for a in advice]
        return "\n".join(lines)
    best = p.options[0]
    lines = [t["plan_yes"].format(label=best.label, model=p.model, total=best.total_gib,
                                  cap=best.capacity_gib, objective=p.objective.replace("_", " ")),
             "", t["plan_head"], "|---|---|---:|---:|"]
    lines += [f"| {i} | {o.label} | {o.total_gib:.2f} | {o.capacity_gib:.2f} |"
              for i, o in enumerate(p.options, 1)]
    if p.assumptions:
        lines += ["", t["assume"] + "; ".join(p.assumptions)]
    return "\n".join(lines)


def missing(what: list[str], lang: str, family: str = "", names: Sequence[str] = (),
            note: str = "", unknown: str = "", nearest: Sequence[str] = ()) -> str:
    """Ask for exactly what is missing (an unknown name: with the nearest catalog matches)."""
    t = T[lang]
    asks = {"model": t["ask_model"], "gpu": t["ask_gpu"],
            "model_size": t["ask_size"].format(f=family, names=", ".join(names) or "-")}
    lines = [t["more"], ""]
    if unknown:
        near = ("、" if lang == "zh" else ", ").join(nearest) or "-"
        what_kind = what[0] if what else "model"
        lines.append(t["unknown_" + ("gpu" if what_kind == "gpu" else "model")].format(
            name=unknown, near=near))
    else:
        lines += [f"- {asks[w]}" for w in what]
    if note:
        lines += ["", note]
    return "\n".join(lines)


def borderline(md: str, options: Sequence[Option], lang: str) -> str:
    """Turn a flat yes/no headline into "borderline" and say what decides it."""
    head = re.sub(r"^\*\*(?:Yes|No)(?:[^*]*)\*\*|^\*\*(?:可以|不行)(?:[^*]*)\*\*",
                  T[lang]["borderline"], md, count=1)
    best = max(options, key=lambda o: (o.capacity_gib - o.total_gib) / max(o.capacity_gib, 1e-9))
    pct = 100 * (best.capacity_gib - best.total_gib) / max(best.capacity_gib, 1e-9)
    return head + "\n\n" + T[lang]["borderline_why"].format(pct=pct)


def bare_size(ask: Ask, chosen: Sequence[tuple[str, Option, Any]],
              rows: Sequence[tuple[str, Option, Any]], verdict: str, lang: str) -> str:
    """A bare size answered across the catalog's models of that size class: the headline over the
    method that decided the verdict (``chosen``), the table over every method, what to change."""
    t, lab = T[lang], LABELS[lang]
    fitting = sorted({r[2].model for r in chosen if r[1].fits})
    failing = sorted({r[2].model for r in chosen if not r[1].fits})
    low = min(chosen, key=lambda r: r[1].total_gib)
    high = max(chosen, key=lambda r: r[1].total_gib)
    cap = chosen[0][1].capacity_gib
    where = _where(chosen[0][1].gpu, chosen[0][1].num_gpus, lang)
    if verdict == "number":
        where = lab[chosen[0][1].workload]
        where = where[:1].upper() + where[1:]
    elif len({r[1].workload for r in rows}) > 1:
        method = lab[chosen[0][1].workload]
        where += f"（{method}）" if lang == "zh" else f" with {method}"
    key = {"yes": "bare_yes", "no": "bare_no", "borderline": "bare_border",
           "number": "bare_num"}.get(verdict, "bare_dep")
    head = t[key].format(size=ask.model, where=where, low=low[1].total_gib, low_m=low[2].model,
                         high=high[1].total_gib, high_m=high[2].model, cap=cap,
                         fit=_join(fitting, lang, "and") or "-",
                         nofit=_join(failing, lang, "and") or "-")
    table = [t["bare_head"], "|---|---|---:|---:|---|"]
    table += [f"| {e.model} | {lab[o.workload]} | {o.total_gib:.2f} | {o.capacity_gib:.2f} | "
              f"{t['fits'] if o.fits else t['nofit']} |" for _, o, e in chosen]
    if verdict == "number":  # no card named: per-GPU need only
        table = [t["bare_num_head"], "|---|---|---:|"]
        table += [f"| {e.model} | {lab[o.workload]} | {o.total_gib:.2f} |" for _, o, e in chosen]
    blocks = [head, "\n".join(table)]
    others = sorted({r[1].workload for r in rows} - {chosen[0][1].workload},
                    key=[r[1].workload for r in rows].index)
    for w in others:
        sizes = [r[1].total_gib for r in rows if r[1].workload == w]
        blocks.append(f"{lab[w]}：每卡 {min(sizes):.2f}–{max(sizes):.2f} GiB。" if lang == "zh" else
                      f"{lab[w]}: {min(sizes):.2f}-{max(sizes):.2f} GiB per GPU.")
    if verdict in ("no", "depends"):
        closest = [low[2]] if not low[1].fits else []
        changes = _changes([], closest, None, lang)
        if changes:
            blocks.append(t["change"] + "\n" + "\n".join(f"- {c}" for c in changes))
    return "\n\n".join(blocks)


def failure(errors: list[str], lang: str) -> str:
    """The estimator could not run: say why, in one line each."""
    return "\n\n".join([T[lang]["fail"], *errors])


def models_for_gpu(found: dict[str, Any], gpu: str, num_gpus: int, lang: str) -> str:
    """"What can I run on my 3070?": per weight format, the largest catalog models that fit."""
    zh = lang == "zh"
    where = f"{num_gpus}× {gpu}" if num_gpus > 1 else gpu
    head = (f"**{where} 上能跑的模型**（推理，按权重格式，每种列出放得下的最大几个；数字为每卡显存）："
            if zh else f"**What runs on {where}** (inference, by weight format, the largest that fit; "
            "figures are per GPU):")
    rows = ["| 权重格式 | 放得下的最大模型 |" if zh else "| weight format | largest models that fit |",
            "|---|---|"]
    for label, fits in found.items():
        cell = "; ".join(f"{f.model} ({f.total_gib:.2f} / {f.capacity_gib:.2f} GiB)" for f in fits)
        rows.append(f"| {label} | {cell or ('放不下' if zh else 'none fits')} |")
    tail = ("4-bit（GGUF Q4_K_M，llama.cpp / Ollama）量化让同一张卡能放下约 3 倍参数量的模型；"
            "上下文按 2048 token 计，更长的上下文需要更多 KV 缓存。问具体模型（如“Qwen2.5-7B 能跑吗”）可得到完整明细。"
            if zh else "4-bit quantization (GGUF Q4_K_M under llama.cpp / Ollama) fits about 3x the "
            "parameters of 16-bit on the same card; context counted at 2048 tokens (longer needs "
            "more KV cache). Ask about one model (\"can I run Qwen2.5-7B?\") for its full breakdown.")
    return "\n".join([head, "", *rows, "", tail])
