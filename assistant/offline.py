"""Offline mode: answer an understood question by calling the same tools as the LLM agent.

``plan_calls(ask)`` says which tools answer the question (the scripted test model uses it too);
``compose(ask, box)`` runs them through a :class:`~assistant.tools.Toolbox` and renders the
answer: verdict first, the fit matrix or breakdown as a table, what to change, citations.
``answer_from_results`` renders an answer from tool results someone else obtained (the LLM
agent's), which is how an ungrounded LLM answer is corrected.
"""

from __future__ import annotations

from typing import Any

from tools.estimator import Estimate, FitMatrix, search_models
from tools.estimator.catalog import models as catalog_models
from tools.estimator.plan import DESKTOP_GPUS

from . import citing, explain, render, understood
from . import lexicon as lx
from .ask import Ask
from .events import Answer, Option, Source, Verdict
from .tools import Toolbox, ToolResult

BORDERLINE = 0.08
"""A margin under 8% of usable memory is "borderline": allocator fragmentation (PyTorch's caching
allocator keeps freed blocks of other sizes), framework version and the real sequence lengths
move the peak by that much (see the estimator's accuracy table in the README)."""
SIZE_CLASS = 0.15
"""A bare size ("a 13B model") stands for the catalog's dense models within 15% of it."""

SIZING = ("check_fit", "estimate_memory", "plan_gpus")
_TOPICS = {
    "qlora": ("QLoRA 4-bit NF4 base what fits", "QLoRA 4-bit NF4 显存"),
    "lora": ("LoRA adapters memory accounting", "LoRA 显存"),
    "full": ("full fine-tuning memory gradients optimizer states", "全参微调 梯度与优化器状态 显存"),
    "serve": ("vLLM gpu_memory_utilization KV cache pool concurrency", "vLLM 如何确定 KV cache 大小"),
    "zero": ("ZeRO stages what each stage shards", "ZeRO 各阶段切分什么"),
    "quant": ("quantization bits per weight", "量化 每个权重的比特数"),
    "kv": ("KV cache formula GQA", "KV cache 公式"),
    "inference": ("GPU memory math weights KV cache", "显存估算 权重 KV cache"),
    "plan": ("choosing a GPU by memory tier", "按显存档位选择 GPU"),
}


def topic_query(ask: Ask) -> str:
    """A guide query for the main concept of a sizing question, in the question's language."""
    w = ask.considered()
    if ask.intent == "plan":
        key = "plan"
    elif ask.target == "kv_cache" or (ask.seq_len or 0) > 16384:
        key = "kv"
    elif (ask.zero_stage or (ask.num_gpus or 1) > 1) and set(w) & {"full", "lora", "qlora"}:
        key = "zero"
    elif "qlora" in w:
        key = "qlora"
    elif "lora" in w:
        key = "lora"
    elif "full" in w:
        key = "full"
    elif "serve" in w:
        key = "serve"
    elif ask.quant:
        key = "quant"
    else:
        key = "inference"
    return _TOPICS[key][1 if ask.lang == "zh" else 0]


def _gpu_args(ask: Ask) -> dict[str, Any]:
    args: dict[str, Any] = {"gpu": "local" if ask.gpu_local else ask.gpu or "H100",
                            "num_gpus": ask.num_gpus or 1}
    if ask.gpu_memory_gb is not None and not ask.gpu:
        args["gpu_memory_gb"] = ask.gpu_memory_gb
    if ask.seq_len is not None:
        args["seq_len"] = ask.seq_len
    return args


def estimate_args(ask: Ask, workload: str) -> dict[str, Any]:
    """estimate_memory arguments for one workload of the question."""
    args: dict[str, Any] = {"model": ask.model, "workload": workload, **_gpu_args(ask)}
    batch = ask.users if workload == "serve" and ask.users else ask.batch_size
    if batch:
        args["batch_size"] = batch
    quant = ask.quant
    if workload == "full" or (workload == "qlora" and quant not in ("nf4", "fp4")):
        quant = None
    for key, value in (("quant", quant), ("weight_dtype", ask.weight_dtype),
                       ("kv_cache_dtype", ask.kv_cache_dtype), ("optimizer", ask.optimizer),
                       ("zero_stage", ask.zero_stage), ("offload", ask.offload),
                       ("tensor_parallel", ask.tensor_parallel), ("grad_ckpt", ask.grad_ckpt),
                       ("flash_attn", ask.flash_attn), ("lora_r", ask.lora_r)):
        if value is not None:
            args[key] = value
    if ask.engine and (ask.engine != "deepspeed" or workload in ("full", "lora", "qlora")):
        args["engine"] = ask.engine
    return args


def _plan_args(ask: Ask) -> dict[str, Any]:
    args: dict[str, Any] = {"model": ask.model, "goal": ask.goal()}
    if ask.gpu:
        args["gpus"] = [ask.gpu]
    if ask.users:
        args["users"] = ask.users
    if ask.seq_len:
        args["seq_len"] = ask.seq_len
    if ask.workloads and args["goal"] in ("fine-tune", "pre-train"):
        args["methods"] = ask.workloads
    if ask.quant or ask.weight_dtype in ("bf16", "fp16"):
        args["quant"] = ask.quant or "none"
    low = ask.query.lower()
    desktop = not ask.gpu and bool(lx.DESKTOP.search(low))
    if desktop:
        args["gpus"] = list(DESKTOP_GPUS)
    if lx.OBJ_CHEAP.search(low) and not desktop:  # desktop cards have no hourly price
        args["objective"] = "cheapest"
    elif lx.OBJ_FAST.search(low):
        args["objective"] = "fastest"
    elif lx.OBJ_SMALL.search(low) or lx.OBJ_CHEAP.search(low) or desktop:
        args["objective"] = "smallest_gpu"
    return args


def plan_calls(ask: Ask) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls that answer ``ask`` (none when something essential is missing)."""
    lang = {"lang": "zh"} if ask.lang == "zh" else {}
    if ask.intent == "explain":
        return [("search_guide", {"query": ask.query, "k": 3, **lang})]
    if ask.missing() or ask.intent is None:
        return []
    workloads = ask.considered()
    calls: list[tuple[str, dict[str, Any]]] = []
    if ask.intent == "plan" and not ask.has_model:  # "what can I run on my 3070?"
        g = {k: v for k, v in _gpu_args(ask).items() if k in ("gpu", "gpu_memory_gb", "num_gpus",
                                                              "seq_len")}
        calls.append(("models_for_gpu", {**g, "workload": "serve" if "serve" in workloads
                                         else "inference"}))
        return [*calls, ("search_guide", {"query": _TOPICS["quant"][1 if ask.lang == "zh" else 0],
                                          "k": 2, **lang})]
    if ask.intent == "plan":
        calls.append(("plan_gpus", _plan_args(ask)))
        return [*calls, ("search_guide", {"query": topic_query(ask), "k": 2, **lang})]
    matrix = ask.target in ("max_batch", "max_seq") or (
        ask.intent == "fit" and len(workloads) > 1 and not ask.has_settings())
    if matrix:
        extra = {k: v for k, v in (("quant", ask.quant if ask.quant != "none" else None),
                                   ("engine", ask.engine), ("kv_cache_dtype", ask.kv_cache_dtype))
                 if v is not None}
        calls.append(("check_fit", {"model": ask.model, **_gpu_args(ask), "workloads": workloads,
                                    **extra}))
    else:
        calls += [("estimate_memory", estimate_args(ask, w)) for w in workloads]
    calls.append(("search_guide", {"query": topic_query(ask), "k": 2, **lang}))
    return calls


def compose(ask: Ask, box: Toolbox) -> Answer:
    """Answer ``ask`` offline, as the kind of question it is (see :mod:`assistant.kinds`)."""
    kind = ask.kind or "fit"
    if kind == "other":
        return explain.other(ask)
    if kind == "why":
        return explain.why(ask, box)
    if kind == "delta":
        return explain.delta(ask, box)
    if kind == "compare":
        return explain.compare(ask, box)
    if kind == "concept" or (ask.intent == "explain" and not ask.missing()):
        answer = explain.concept(ask, box)
        if answer.kind != "other" or ask.intent != "explain":
            return answer
    if ask.bare_size and not ask.missing() and ask.intent in ("fit", "number") and \
            kind in ("fit", "capacity") and ask.target in (None, "total"):
        return bare_size(ask, box)
    for name, args in plan_calls(ask):
        box.call(name, args)
    sizing = [r for r in box.results if r.name in SIZING and r.ok]
    fm = next((r.data for r in sizing if isinstance(r.data, FitMatrix)), None)
    if fm is not None and not any(o.fits for o in _options(sizing)):
        smallest = min((r for r in fm.rows if not r.error), key=lambda r: r.total_gib, default=None)
        if smallest is not None:  # what would make the cheapest workload fit
            box.call("estimate_memory", estimate_args(ask, smallest.workload))
    return answer_from_results(ask, box.results)


def _options(results: list[ToolResult]) -> list[Option]:
    seen: dict[str, Option] = {}
    for r in results:
        for o in r.options:
            seen.setdefault(o.workload, o)
    return list(seen.values())


def _sources(results: list[ToolResult]) -> list[Source]:
    out: dict[str, Source] = {}
    for r in results:
        for s in r.sources:
            out.setdefault(s.title, s)
    return list(out.values())


def answer_from_results(ask: Ask, results: list[ToolResult], backend: str = "offline") -> Answer:
    """Render the answer to ``ask`` from tool results (the composer's or the LLM agent's): the
    understood line first, then the verdict (borderline when the margin is thin)."""
    answer = _answer_from_results(ask, results, backend)
    estimates = [r.data for r in results if r.ok and isinstance(r.data, Estimate)]
    u = understood.slots(ask, estimates)
    head = understood.line(ask, u, ask.lang, ask.kind if ask.kind != "other" else None)
    verdict = answer.verdict
    md = answer.answer
    if verdict in ("yes", "no") and ask.intent != "plan":
        verdict = honest_verdict(answer.options, estimates, verdict)
        if verdict == "borderline":
            md = render.borderline(md, answer.options, ask.lang)
    return answer.model_copy(update={
        "answer": f"{head}\n\n{md}", "understood": u, "kind": ask.kind or "fit",
        "verdict": verdict, "counts": counts(ask, results)})


def margin(option: Option, estimates: list[Estimate]) -> float:
    """How much of the usable memory is left (negative: short by), as a fraction; serving is
    judged on the KV pool against the tokens asked for."""
    est = next((e for e in estimates if e.workload == option.workload), None)
    if option.workload == "serve" and est is not None and est.serving is not None:
        asked = int(str(est.settings.get("seq_len") or 1)) * int(
            str(est.settings.get("batch_size") or 1))
        if est.serving.max_tokens <= 0:
            return -1.0
        return 1 - asked / est.serving.max_tokens
    if option.capacity_gib <= 0:
        return -1.0
    return (option.capacity_gib - option.total_gib) / option.capacity_gib


def honest_verdict(options: list[Option], estimates: list[Estimate],
                   verdict: Verdict) -> Verdict:
    """yes / no, or borderline when the best option's margin is under :data:`BORDERLINE`."""
    if not options:
        return verdict
    best = max(margin(o, estimates) for o in options)
    return "borderline" if abs(best) < BORDERLINE else verdict


def counts(ask: Ask, results: list[ToolResult]) -> dict[str, int]:
    """Users, longest context (tokens) and largest batch the tool results give."""
    out: dict[str, int] = {}
    for r in results:
        if not r.ok:
            continue
        if isinstance(r.data, Estimate) and r.data.serving is not None:
            out.setdefault("users", r.data.serving.max_concurrent_seqs)
            out.setdefault("tokens", r.data.serving.max_model_len)
        if isinstance(r.data, FitMatrix):
            row = next((x for x in r.data.rows if not x.error and x.workload in ask.considered()),
                       None)
            if row is not None:
                if row.max_batch is not None:
                    out["batch"] = row.max_batch
                if row.max_seq_len is not None and "tokens" not in out:
                    out["tokens"] = row.max_seq_len
    if ask.target == "max_seq" and "tokens" in out:
        out["seq_len"] = out["tokens"]
    return out


def _size_class(size: float) -> list[str]:
    specs = [m for m in catalog_models() if not m.is_moe and abs(m.params_b - size) <= SIZE_CLASS
             * size]
    seen: set[tuple[int, int, int, int]] = set()
    out = []
    for m in sorted(specs, key=lambda m: m.params_b):
        shape = (m.layers, m.hidden, m.kv_heads, m.vocab)
        if shape not in seen:
            seen.add(shape)
            out.append(m.id)
    return out[:8]


def _bare_verdict(workloads: list[str], rows: list[tuple[str, Option, Estimate]]
                  ) -> tuple[Verdict, list[tuple[str, Option, Estimate]]]:
    """One verdict over a size class: the first method (in the order asked) that every model fits,
    else "depends" on the first that some fit, else "no" on the cheapest; with that method's rows.
    A "yes" or "no" whose tightest model is within :data:`BORDERLINE` becomes "borderline"."""
    by: dict[str, list[tuple[str, Option, Estimate]]] = {}
    for row in rows:
        by.setdefault(row[1].workload, []).append(row)
    order = [w for w in workloads if w in by] or list(by)
    verdict: Verdict
    if chosen_w := next((w for w in order if all(r[1].fits for r in by[w])), None):
        verdict = "yes"
    elif chosen_w := next((w for w in order if any(r[1].fits for r in by[w])), None):
        verdict = "depends"
    else:
        chosen_w, verdict = order[-1], "no"
    chosen = by[chosen_w]
    ests = [e for _, _, e in chosen]
    if verdict == "yes":
        tight = min(margin(r[1], ests) for r in chosen)
    elif verdict == "no":
        tight = max(margin(r[1], ests) for r in chosen)
    else:
        return verdict, chosen
    return ("borderline" if abs(tight) < BORDERLINE else verdict), chosen


def bare_size(ask: Ask, box: Toolbox) -> Answer:
    """"A 13B model": the catalog's real models of that size class, one verdict when they agree,
    otherwise "depends on the model" with the range and the models at each end."""
    try:
        size = float(str(ask.model).rstrip("Bb"))
    except ValueError:
        size = 0.0
    ids = _size_class(size) if size > 0 else []
    if not ids:
        for name, args in plan_calls(ask):
            box.call(name, args)
        return answer_from_results(ask, box.results)
    rows: list[tuple[str, Option, Estimate]] = []
    for mid in ids:
        for w in ask.considered():
            r = box.call("estimate_memory", estimate_args(ask.model_copy(update={"model": mid}), w))
            if r.ok and isinstance(r.data, Estimate):
                rows.append((mid, r.options[0], r.data))
    if not rows:
        return answer_from_results(ask, box.results)
    verdict: Verdict | None
    verdict, chosen = _bare_verdict(ask.considered(), rows)
    u = understood.slots(ask, [e for _, _, e in chosen][:1])
    u["model"] = ask.model
    md = render.bare_size(ask, chosen, rows, verdict, ask.lang)
    if not ask.has_gpu and not ask.paste:  # a number question: no card was named, so no verdict
        verdict = None
        for f in ("gpu", "gpu_name", "num_gpus"):
            u.pop(f, None)
        md = render.bare_size(ask, chosen, rows, "number", ask.lang)
    head = understood.line(ask, u, ask.lang)
    guide = box.call("search_guide", {"query": topic_query(ask), "k": 2,
                                      **({"lang": "zh"} if ask.lang == "zh" else {})})
    sources = guide.sources if guide.ok else []
    options = [o for _, o, _ in rows]
    request = ask.model_dump(exclude_defaults=True, exclude={"query", "followup", "paste"})
    return Answer(verdict=verdict, options=options,
                  answer=f"{head}\n\n{md}" + citing.citations(sources, ask.lang),
                  sources=sources, lang=ask.lang, kind=ask.kind or "fit", understood=u,
                  request=request)


def _answer_from_results(ask: Ask, results: list[ToolResult], backend: str) -> Answer:
    sources = _sources(results)
    request = ask.model_dump(exclude_defaults=True, exclude={"query", "followup", "paste"})
    base: dict[str, Any] = {"backend": backend, "request": request, "lang": ask.lang,
                            "sources": sources}
    if ask.intent == "explain" or (ask.intent is None and not ask.mentions()):
        passages = [p for r in results if r.name == "search_guide" and r.ok for p in r.data or []]
        return Answer(answer=citing.explanation(passages, ask.lang), **base)
    if ask.missing():
        names = [m.name for m in search_models(ask.family)][:8] if ask.family else []
        note = next((r.text for r in results if r.name == "probe_local_gpus"), "")
        return Answer(verdict="need_more_info", missing=ask.missing(),
                      answer=render.missing(ask.missing(), ask.lang, ask.family or "", names,
                                             note, ask.unresolved_model or ask.unresolved_gpu,
                                             ask.nearest), **base)
    which = next((r for r in results if r.name == "models_for_gpu" and r.ok), None)
    if which is not None:
        gpu = str(which.args.get("gpu_name") or which.args.get("gpu") or "")
        md = render.models_for_gpu(which.data, gpu, int(which.args.get("num_gpus") or 1), ask.lang)
        return Answer(answer=md + citing.citations(sources, ask.lang), **base)
    sizing = [r for r in results if r.name in SIZING and r.ok]
    errors = [r.text for r in results if r.name in SIZING and not r.ok]
    if not sizing:
        text = render.failure(errors, ask.lang)
        return Answer(verdict="need_more_info", answer=text, **base)
    plans = [r for r in sizing if r.name == "plan_gpus"]
    if plans and (ask.intent == "plan" or len(plans) == len(sizing)):
        options = plans[0].options
        planned, others = plans[0].data
        md = render.plan(planned, others, ask.lang) + citing.citations(sources, ask.lang)
        return Answer(verdict="yes" if options else "no", options=options, answer=md, **base)
    options = _options(sizing)
    considered = set(ask.considered())
    options = [o for o in options if o.workload in considered] or options
    estimates = [r.data for r in sizing if isinstance(r.data, Estimate)]
    fm = next((r.data for r in sizing if isinstance(r.data, FitMatrix)), None)
    md, figures = render.sizing(ask, options, estimates, fm, ask.lang)
    md += citing.citations(sources, ask.lang)
    show_verdict = ask.intent == "fit" or ask.has_gpu
    return Answer(verdict=("yes" if any(o.fits for o in options) else "no") if show_verdict
                  else None, options=options if show_verdict else [], answer=md,
                  figures=figures, **base)
