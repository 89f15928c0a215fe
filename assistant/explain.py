"""Answers to questions that are not a fit check: why, concept, delta, compare, other.

Each runs the estimator through the :class:`~assistant.tools.Toolbox` (so the tool steps show
and every number comes from a tool result) and says what the question asked: the cause with
the term that grew and its formula, the guide section with a worked number, the saving of a
change, two setups side by side, or, for anything else, what Headroom answers.
"""

from __future__ import annotations

import re
from typing import Any

from tools.estimator import Estimate
from tools.estimator.catalog import find_model

from . import guide, understood
from . import lexicon as lx
from .ask import Ask
from .events import Answer, Figure, Source
from .strings import LABELS, TERMS
from .tools import Toolbox

REFERENCE_MODEL = "llama-3.1-8b"
"""The model a concept or delta question is worked on when the user names none."""

_FORMULA = {
    "en": {
        "weights_gib": "weights = parameters × bytes per parameter (2 B in bf16, about 0.5 B in "
                       "4-bit)",
        "kv_cache_gib": "KV cache = 2 × layers × KV heads × head dim × bytes × tokens (GQA models "
                        "have fewer KV heads than attention heads, so a smaller cache)",
        "activations_gib": "activations and logits grow with batch × sequence length: each layer "
                           "keeps hidden × tokens values (one layer's inputs under checkpointing), "
                           "and the logits take batch × tokens × vocab × bytes per logit",
        "gradients_gib": "gradients = trainable parameters × bytes (bf16: 2 B)",
        "optimizer_gib": "AdamW keeps two fp32 states per trainable parameter (8 B), plus a 4 B "
                         "fp32 master copy under AMP: 16 B per parameter with weights and "
                         "gradients; 8-bit AdamW keeps 2 B of states",
        "overhead_gib": "CUDA context and allocator reserve: fixed per GPU",
    },
    "zh": {
        "weights_gib": "权重 = 参数量 × 每个参数的字节数（bf16 为 2 B，4-bit 约 0.5 B）",
        "kv_cache_gib": "KV cache = 2 × 层数 × KV 头数 × 头维度 × 字节数 × token 数（GQA 模型的 KV 头"
                        "比注意力头少，缓存更小）",
        "activations_gib": "激活与 logits 随 batch × 序列长度增长：每层保存 hidden × token 个值（开梯度"
                           "检查点时只存每层输入），logits 占 batch × token 数 × 词表 × 每个 logit 的字节数",
        "gradients_gib": "梯度 = 可训练参数 × 字节数（bf16 为 2 B）",
        "optimizer_gib": "AdamW 为每个可训练参数保存两个 fp32 状态（8 B），AMP 下再加 4 B 的 fp32 主权重："
                         "连同权重和梯度共 16 B/参数；8-bit AdamW 的状态只要 2 B",
        "overhead_gib": "CUDA 上下文与分配器预留：每张卡固定开销",
    },
}


def _l(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


def _est(box: Toolbox, args: dict[str, Any]) -> Estimate | None:
    result = box.call("estimate_memory", {k: v for k, v in args.items() if v is not None})
    return result.data if result.ok and isinstance(result.data, Estimate) else None


def _errors(box: Toolbox) -> list[str]:
    return [r.text for r in box.results if not r.ok]


def _terms(lang: str) -> list[tuple[str, str]]:
    return TERMS["zh" if lang == "zh" else "en"]


def contrast_table(a: Estimate, b: Estimate, labels: tuple[str, str], lang: str) -> str:
    """Two estimates side by side, term by term, with the change."""
    head = _l(lang, "| per GPU (GiB) |", "| 每张卡 (GiB) |")
    lines = [f"{head} {labels[0]} | {labels[1]} | {_l(lang, 'change', '变化')} |",
             "|---|---:|---:|---:|"]
    for name, f in _terms(lang):
        x, y = getattr(a.per_gpu, f), getattr(b.per_gpu, f)
        if x or y:
            lines.append(f"| {name} | {x:.2f} | {y:.2f} | {y - x:+.2f} |")
    total = _l(lang, "**total (nvidia-smi)**", "**合计（nvidia-smi）**")
    lines.append(f"| {total} | **{a.total_gib:.2f}** | **{b.total_gib:.2f}** | "
                 f"**{b.total_gib - a.total_gib:+.2f}** |")
    return "\n".join(lines)


def grown_term(a: Estimate, b: Estimate) -> tuple[str, float]:
    """The per-GPU term that changes most between two estimates."""
    fields = [f for _, f in TERMS["en"]]
    best = max(fields, key=lambda f: abs(getattr(b.per_gpu, f) - getattr(a.per_gpu, f)))
    return best, getattr(b.per_gpu, best) - getattr(a.per_gpu, best)


def _term_name(field: str, lang: str) -> str:
    return dict((f, n) for n, f in _terms(lang))[field]


def _largest(e: Estimate) -> str:
    fields = [f for _, f in TERMS["en"] if f != "overhead_gib"]
    return max(fields, key=lambda f: getattr(e.per_gpu, f))


def _breakdown(e: Estimate, lang: str) -> str:
    head = _l(lang, "| per GPU | GiB |", "| 每张卡 | GiB |")
    lines = [head, "|---|---:|"]
    lines += [f"| {n} | {getattr(e.per_gpu, f):.2f} |" for n, f in _terms(lang)
              if getattr(e.per_gpu, f) > 0]
    lines.append(_l(lang, f"| **total (nvidia-smi)** | **{e.total_gib:.2f}** |",
                    f"| **合计（nvidia-smi）** | **{e.total_gib:.2f}** |"))
    lines.append(_l(lang, f"| usable on {e.gpu} | {e.capacity_gib:.2f} |",
                    f"| {e.gpu} 可用 | {e.capacity_gib:.2f} |"))
    return "\n".join(lines)


def _kv_line(model: str, box: Toolbox, lang: str) -> tuple[str, float] | None:
    e = _est(box, {"model": model, "workload": "serve", "gpu": "H200"})
    if e is None or e.serving is None:
        return None
    per = e.serving.kv_bytes_per_token
    try:
        spec = find_model(model)
    except Exception:  # noqa: BLE001 - a bare size has no catalog entry
        spec = None
    shape = ""
    if spec is not None:
        if spec.is_mla:
            shape = _l(lang, " (MLA: one compressed latent per token and layer, not per-head K/V)",
                       "（MLA：每层每个 token 只存一个压缩的潜向量，而不是每个头的 K/V）")
        else:
            shape = _l(lang, f" = 2 × {spec.layers} layers × {spec.kv_heads} KV heads (of "
                       f"{spec.heads} attention heads) × {spec.head_dim} head dim × 2 B",
                       f" = 2 × {spec.layers} 层 × {spec.kv_heads} 个 KV 头（注意力头 {spec.heads} 个）"
                       f" × 头维度 {spec.head_dim} × 2 B")
    at128k = per * 131072 / 1024**3
    return (_l(lang, f"- **{e.model}**: {per / 1024:,.0f} KiB per token{shape}; "
               f"{at128k:.2f} GiB at 128k tokens",
               f"- **{e.model}**：每个 token {per / 1024:,.0f} KiB{shape}；128k token 时 "
               f"{at128k:.2f} GiB"), at128k)


def _example(c: guide.Concept, box: Toolbox, lang: str,
             model: str | None = None) -> tuple[list[str], list[Figure]]:
    """The concept's worked example, computed by the estimator."""
    ex = c.example
    kind = ex.get("type")
    blocks: list[str] = []
    figures: list[Figure] = []
    if kind == "kv":
        models = ex.get("models", [REFERENCE_MODEL])
        lines = [r for m in models if (r := _kv_line(m, box, lang))]
        if lines:
            blocks.append(_l(lang, "Worked numbers (estimator, bf16 cache):",
                             "算例（估算器，bf16 缓存）：") + "\n" + "\n".join(x for x, _ in lines))
            figures += [Figure(name="kv_cache_128k", gib=v) for _, v in lines]
        return blocks, figures
    base = dict(ex.get("base", {}))
    if model:
        base["model"] = model
    a = _est(box, base)
    if a is None:
        return blocks, figures
    if kind == "contrast":
        b = _est(box, {**base, **ex.get("variant", {})})
        if b is not None:
            labels = tuple(ex.get("label", ["A", "B"]))
            field, change = grown_term(a, b)
            blocks.append(_l(lang, f"Worked example ({a.model}, {LABELS['en'][a.workload]}, "
                             f"{a.num_gpus}x {a.gpu}):", f"算例（{a.model}，{LABELS['zh'][a.workload]}，"
                             f"{a.num_gpus} 张 {a.gpu}）："))
            blocks.append(contrast_table(a, b, (labels[0], labels[1]), lang))
            blocks.append(_l(lang, f"The term that changes most: {_term_name(field, lang)} "
                             f"({change:+.2f} GiB); {_FORMULA['en'][field]}.",
                             f"变化最大的一项：{_term_name(field, lang)}（{change:+.2f} GiB）；"
                             f"{_FORMULA['zh'][field]}。"))
            figures += [Figure(name="a", gib=a.total_gib), Figure(name="b", gib=b.total_gib),
                        Figure(name="delta", gib=abs(b.total_gib - a.total_gib))]
            return blocks, figures
    blocks.append(_l(lang, f"Worked example ({a.model}, {LABELS['en'][a.workload]}, "
                     f"{a.num_gpus}x {a.gpu}):", f"算例（{a.model}，{LABELS['zh'][a.workload]}，"
                     f"{a.num_gpus} 张 {a.gpu}）："))
    blocks.append(_breakdown(a, lang))
    if a.serving:
        s = a.serving
        blocks.append(_l(lang, f"vLLM reserves gpu_memory_utilization × usable memory = "
                         f"{s.budget_gib:.2f} GiB up front, whatever the weights need; the KV cache "
                         f"pool is {s.kv_pool_gib:.2f} GiB ({s.max_tokens:,} tokens).",
                         f"vLLM 启动时按 gpu_memory_utilization × 可用显存 预先占用 {s.budget_gib:.2f} GiB，"
                         f"与权重大小无关；其中 KV cache 池 {s.kv_pool_gib:.2f} GiB（{s.max_tokens:,} 个 "
                         f"token）。"))
        figures.append(Figure(name="budget", gib=s.budget_gib))
    field = _largest(a)
    blocks.append(_l(lang, f"Largest term: {_term_name(field, lang)}; {_FORMULA['en'][field]}.",
                     f"最大的一项：{_term_name(field, lang)}；{_FORMULA['zh'][field]}。"))
    figures.append(Figure(name="total", gib=a.total_gib))
    return blocks, figures


def _quote(sec: guide.Section | None, lang: str) -> list[str]:
    if sec is None:
        return []
    from .citing import _lead

    return [_l(lang, f"From the Headroom guide, **{sec.section}** ({sec.title}):",
               f"指南中的相关内容，**{sec.section}**（{sec.title}）："), _lead(sec.text, 900)]


def _sources(concepts: list[guide.Concept], lang: str, limit: int = 2) -> list[Source]:
    out: list[Source] = []
    for c in concepts:
        sec = guide.section(c.stem, c.section, lang)
        if sec is not None and all(s.path != sec.source or s.section != sec.section for s in out):
            out.append(sec.as_source())
        if len(out) >= limit:
            break
    return out


def _finish(ask: Ask, kind: str, blocks: list[str], box: Toolbox, sources: list[Source],
            figures: list[Figure], estimates: list[Estimate], verdict: str | None = None,
            counts: dict[str, int] | None = None) -> Answer:
    from .citing import citations

    u = understood.slots(ask, estimates)
    head = understood.line(ask, u, ask.lang, kind)
    md = "\n\n".join([head, *[b for b in blocks if b]]) + citations(sources, ask.lang)
    request = ask.model_dump(exclude_defaults=True, exclude={"query", "followup", "paste"})
    return Answer(answer=md, sources=sources, figures=figures, lang=ask.lang, kind=kind,
                  understood=u, verdict=verdict, request=request,
                  counts=counts or {})


def concept(ask: Ask, box: Toolbox, kind: str = "concept") -> Answer:
    """What is / how does: the guide section first, then a worked number on a named model."""
    low = ask.query.lower()
    found = guide.match(low)
    if not found:
        return other(ask)
    main = found[0]
    blocks = _quote(guide.section(main.stem, main.section, ask.lang), ask.lang)
    example, figures = _example(main, box, ask.lang, ask.model if ask.has_model and
                                not ask.bare_size else None)
    blocks += example
    estimates = [r.data for r in box.results if r.ok and isinstance(r.data, Estimate)]
    return _finish(ask, kind, blocks, box, _sources(found, ask.lang), figures, estimates[-1:])


_OTHER = {
    "en": "I answer GPU-memory questions about LLMs: will a model fit for inference, serving, "
          "full fine-tuning, LoRA or QLoRA, why a job runs out of memory, what a setting saves, "
          "and which GPUs to use. For example:\n\n- “Can I fine-tune Llama-3.1-8B with LoRA on "
          "one RTX 4090?”\n- “How many concurrent users can Qwen2.5-7B serve on an A10 at 4k "
          "context?”",
    "zh": "我回答大模型的显存问题：推理、部署、全参微调、LoRA、QLoRA 放不放得下，为什么 OOM，某个设置能省多少，"
          "需要什么显卡。例如：\n\n- “一张 RTX 4090 能 LoRA 微调 Llama-3.1-8B 吗？”\n- “A10 上 4k 上下文"
          "部署 Qwen2.5-7B 能撑多少并发？”",
}


# four or more neighbouring keys of one QWERTY row ("asdfgh", "qwer", "hjkl"): key mashing
_KEY_MASH = re.compile("|".join(row[i:i + 4] for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
                                for i in range(len(row) - 3)))


def other(ask: Ask) -> Answer:
    """Greetings, gibberish, off-topic: what Headroom answers, with two example questions; in
    both languages when the message has no words to tell its language by (emoji, key mashing)."""
    from .kinds import is_noise

    low = ask.query.lower()
    if is_noise(low) or not re.search(r"[a-z]{2}|[\u4e00-\u9fff]", low) or _KEY_MASH.search(low):
        first = "zh" if ask.lang == "zh" else "en"
        text = _OTHER[first] + "\n\n" + _OTHER["en" if first == "zh" else "zh"]
    else:
        text = _OTHER["zh" if ask.lang == "zh" else "en"]
    return Answer(answer=text, lang=ask.lang, kind="other", verdict=None)


def why(ask: Ask, box: Toolbox) -> Answer:
    """The cause, quantified: the user's setting against the one that worked (or the other
    model), naming the term that grew and its formula."""
    lang = ask.lang
    low = ask.query.lower()
    found = guide.match(low)
    blocks: list[str] = []
    figures: list[Figure] = []
    estimates: list[Estimate] = []
    from .offline import estimate_args

    workload = ask.considered()[0] if ask.workloads else (
        "inference" if len(ask.models) > 1 else "lora")
    if len(ask.models) > 1:
        lines = [r for m in ask.models[:3] if (r := _kv_line(m, box, lang))]
        if lines:
            blocks.append(_l(lang, "KV cache per token, from the estimator:",
                             "估算器给出的每个 token 的 KV cache：") + "\n" + "\n".join(x for x, _ in lines))
            blocks.append(_l(lang, f"The difference is the number of KV heads (GQA) and layers, not "
                             f"the parameter count: {_FORMULA['en']['kv_cache_gib']}.",
                             f"差别来自 KV 头数（GQA）和层数，而不是参数量：{_FORMULA['zh']['kv_cache_gib']}。"))
            figures += [Figure(name="kv_cache_128k", gib=v) for _, v in lines]
        if not any(c.stem == "kv-cache" for c in found):
            found = [c for c in (guide.by_name("gqa"),) if c] + found
    elif ask.has_model:
        base = estimate_args(ask, workload)
        variant: dict[str, Any] | None = None
        labels = ("", "")
        seqs = ask.seq_values
        if len(seqs) >= 2:
            good, bad = min(seqs), max(seqs)
            base["seq_len"], variant = good, {"seq_len": bad}
            labels = (f"{good:,} tokens", f"{bad:,} tokens")
        elif ask.grad_ckpt is False or ask.flash_attn is False:
            on = {k: True for k in ("grad_ckpt", "flash_attn") if getattr(ask, k) is False}
            variant = {k: False for k in on}
            base.update(on)
            labels = (_l(lang, "as default", "默认设置"), _l(lang, "your setting", "你的设置"))
        if variant is not None:
            a, b = _est(box, base), _est(box, {**base, **variant})
            if a is not None and b is not None:
                field, change = grown_term(a, b)
                blocks.append(contrast_table(a, b, labels, lang))
                blocks.append(_l(
                    lang, f"What grew: **{_term_name(field, lang)}** ({change:+.2f} GiB per GPU). "
                    f"{_FORMULA['en'][field]}.",
                    f"增长的是：**{_term_name(field, lang)}**（每张卡 {change:+.2f} GiB）。"
                    f"{_FORMULA['zh'][field]}。"))
                if b.capacity_gib and not b.fits:
                    blocks.append(_l(lang, f"On {b.gpu} ({b.capacity_gib:.2f} GiB usable) that "
                                     f"setting needs {b.total_gib:.2f} GiB: out of memory.",
                                     f"在 {b.gpu}（可用 {b.capacity_gib:.2f} GiB）上这个设置需要 "
                                     f"{b.total_gib:.2f} GiB，所以 OOM。"))
                figures += [Figure(name="a", gib=a.total_gib), Figure(name="b", gib=b.total_gib)]
                estimates = [b]
        else:
            e = _est(box, base)
            if e is not None:
                field = _largest(e)
                blocks.append(_breakdown(e, lang))
                blocks.append(_l(lang, f"The largest term is **{_term_name(field, lang)}**: "
                                 f"{_FORMULA['en'][field]}.",
                                 f"最大的一项是**{_term_name(field, lang)}**：{_FORMULA['zh'][field]}。"))
                if e.serving:
                    s = e.serving
                    blocks.append(_l(lang, f"vLLM takes gpu_memory_utilization × usable memory = "
                                     f"{s.budget_gib:.2f} GiB at start and fills what the weights "
                                     f"leave with KV cache ({s.kv_pool_gib:.2f} GiB).",
                                     f"vLLM 启动时占用 gpu_memory_utilization × 可用显存 = "
                                     f"{s.budget_gib:.2f} GiB，权重以外的部分都分给 KV cache "
                                     f"（{s.kv_pool_gib:.2f} GiB）。"))
                    figures.append(Figure(name="budget", gib=s.budget_gib))
                figures.append(Figure(name="total", gib=e.total_gib))
                estimates = [e]
    if not blocks and found:
        return concept(ask, box, kind="why")
    if found:
        blocks += _quote(guide.section(found[0].stem, found[0].section, lang), lang)[:1]
    if not blocks:
        return other(ask)
    return _finish(ask, "why", blocks, box, _sources(found, lang), figures, estimates)


def _quant_variant(ask: Ask) -> tuple[dict[str, Any], dict[str, Any], tuple[str, str]] | None:
    """Two weight formats named ("Q4_K_M 和 Q8_0 差多少"): the second is the baseline."""
    if len(ask.quants) < 2:
        return None

    def fields(q: str) -> dict[str, Any]:
        return {"weight_dtype": q, "quant": None} if q in ("bf16", "fp16", "fp32") else {"quant": q}

    def name(q: str) -> str:
        return q.removeprefix("gguf-").upper() if q.startswith("gguf-") else q

    first, second = ask.quants[0], ask.quants[1]
    return fields(second), fields(first), (name(second), name(first))


def _delta_variant(ask: Ask) -> tuple[dict[str, Any], dict[str, Any], tuple[str, str]] | None:
    """(base overrides, variant overrides, labels) for the change a delta question names."""
    low = ask.query.lower()
    if quants := _quant_variant(ask):
        return quants
    if ask.optimizer in ("adamw-8bit", "paged-adamw-8bit"):
        return {"optimizer": "adamw"}, {"optimizer": ask.optimizer}, ("AdamW", ask.optimizer)
    if len(set(ask.zero_values)) >= 2:
        a, b = sorted(set(ask.zero_values))[:2]
        return {"zero_stage": a}, {"zero_stage": b}, (f"ZeRO-{a}", f"ZeRO-{b}")
    versus = bool(lx.VERSUS.search(low))  # "rank 64 vs rank 16": the first is the one asked about
    if len(ask.rank_values) >= 2:
        a, b = ask.rank_values[0], ask.rank_values[-1]
        a, b = (b, a) if versus else (a, b)
        return {"lora_r": a}, {"lora_r": b}, (f"r={a}", f"r={b}")
    if ask.lora_r and ask.lora_r != 16:
        return {"lora_r": 16}, {"lora_r": ask.lora_r}, ("r=16", f"r={ask.lora_r}")
    if ask.kv_cache_dtype == "fp8":
        return {"kv_cache_dtype": "auto"}, {"kv_cache_dtype": "fp8"}, ("bf16 KV", "fp8 KV")
    if ask.offload in ("optimizer", "optimizer+params"):
        where = _l(ask.lang, f"{ask.offload} offloaded to CPU", "优化器状态卸载到 CPU" if ask.offload ==
                   "optimizer" else "优化器和参数卸载到 CPU")
        return {"offload": "none"}, {"offload": ask.offload}, (_l(ask.lang, "no offload", "不卸载"), where)
    if ask.flash_attn is False:
        return {"flash_attn": True}, {"flash_attn": False}, ("FlashAttention", "eager")
    flash = lx.FLASH_ON.search(low)
    ckpt = re.search(r"checkpoint|检查点|重计算", low)
    if ask.flash_attn and (ask.grad_ckpt is False or not ckpt or (flash and ckpt and
                                                                   flash.start() < ckpt.start())):
        # "how much does flash attention save ... with no gradient checkpointing"
        return {"flash_attn": False}, {"flash_attn": True}, ("eager", "FlashAttention")
    if ask.grad_ckpt is False or "checkpoint" in low or "检查点" in low or "重计算" in low:
        return {"grad_ckpt": False}, {"grad_ckpt": True}, (_l(ask.lang, "checkpointing off", "不开检查点"),
                                                          _l(ask.lang, "checkpointing on", "开检查点"))
    if len(ask.seq_values) >= 2:
        a, b = ask.seq_values[0], ask.seq_values[-1]
        a, b = (b, a) if versus else (a, b)
        return {"seq_len": a}, {"seq_len": b}, (f"{a:,} tokens", f"{b:,} tokens")
    if ask.zero_stage:
        a = max(ask.zero_stage - 1, 0)
        return {"zero_stage": a}, {"zero_stage": ask.zero_stage}, (f"ZeRO-{a}", f"ZeRO-{ask.zero_stage}")
    if ask.quant and ask.quant != "none":
        return {"quant": "none"}, {"quant": ask.quant}, ("bf16", ask.quant)
    return None


def delta(ask: Ask, box: Toolbox) -> Answer:
    """How much does X save or cost: the two estimates, the difference and its formula."""
    from .offline import estimate_args

    lang = ask.lang
    found = guide.match(ask.query.lower())
    change = _delta_variant(ask)
    if change is None:
        return concept(ask, box, kind="delta") if found else other(ask)
    base_o, variant_o, labels = change
    workload = ask.considered()[0] if ask.workloads else (
        "full" if "optimizer" in base_o or "zero_stage" in base_o or "offload" in base_o else
        "lora" if "lora_r" in base_o or "grad_ckpt" in base_o else
        "serve" if "kv_cache_dtype" in base_o else "inference")
    target = ask if ask.has_model and not ask.bare_size else ask.model_copy(
        update={"model": ask.model if ask.has_model else REFERENCE_MODEL,
                "model_name": ask.model_name if ask.has_model else REFERENCE_MODEL})
    args = estimate_args(target, workload)
    if not ask.has_gpu:
        args["gpu"] = "H100"
    if "zero_stage" in base_o and args.get("num_gpus", 1) == 1:
        args["num_gpus"] = 8
    a = _est(box, {**args, **base_o})
    b = _est(box, {**args, **variant_o})
    if a is None or b is None:
        return concept(ask, box, kind="delta") if found else other(ask)
    if a.serving and b.serving and "kv_cache_dtype" in base_o:
        return _kv_dtype_delta(ask, target, box, a, b, labels, found)
    field, term_change = grown_term(a, b)
    saved = a.total_gib - b.total_gib
    head = (_l(lang, f"**{labels[1]} saves {saved:.2f} GiB per GPU** against {labels[0]}: "
               f"{a.total_gib:.2f} → {b.total_gib:.2f} GiB.",
               f"**{labels[1]} 比 {labels[0]} 每张卡省 {saved:.2f} GiB**：{a.total_gib:.2f} → "
               f"{b.total_gib:.2f} GiB。") if saved >= 0 else
            _l(lang, f"**{labels[1]} costs {-saved:.2f} GiB more per GPU** than {labels[0]}: "
               f"{a.total_gib:.2f} → {b.total_gib:.2f} GiB.",
               f"**{labels[1]} 比 {labels[0]} 每张卡多用 {-saved:.2f} GiB**：{a.total_gib:.2f} → "
               f"{b.total_gib:.2f} GiB。"))
    blocks = [head, contrast_table(a, b, labels, lang),
              _l(lang, f"The term that changes: {_term_name(field, lang)} ({term_change:+.2f} GiB); "
                 f"{_FORMULA['en'][field]}.", f"变化的一项：{_term_name(field, lang)}（{term_change:+.2f} "
                 f"GiB）；{_FORMULA['zh'][field]}。")]
    if not ask.has_model:
        blocks.append(_l(lang, f"(Worked on {a.model}, as no model was named.)",
                         f"（没有指定模型，以 {a.model} 为例。）"))
    figures = [Figure(name="delta", gib=abs(saved)), Figure(name="a", gib=a.total_gib),
               Figure(name="b", gib=b.total_gib)]
    if not found:
        found = [c for c in guide.concepts() if c.stem in ("memory-math",)][:1]
    ask_b = target.model_copy(update={k: v for k, v in variant_o.items() if k in Ask.model_fields})
    return _finish(ask_b, "delta", blocks, box, _sources(found, lang), figures, [b])


def _kv_dtype_delta(ask: Ask, target: Ask, box: Toolbox, a: Estimate, b: Estimate,
                    labels: tuple[str, str], found: list[guide.Concept]) -> Answer:
    """A KV-cache dtype under a pool engine: the pool (and nvidia-smi) stays the same size, so
    the saving is the KV cache of the requests asked about, and the pool holds more tokens."""
    assert a.serving is not None and b.serving is not None
    lang, seq, users = ask.lang, a.serving.seq_len, ask.users or 1
    per_a, per_b = a.serving.seq_kv_gib * users, b.serving.seq_kv_gib * users
    who = _l(lang, f"{users} × {seq:,}-token requests" if users > 1 else f"a {seq:,}-token request",
             f"{users} 个 {seq:,} token 的请求" if users > 1 else f"一个 {seq:,} token 的请求")
    head = _l(lang, f"**{labels[1]} saves {per_a - per_b:.2f} GiB of KV cache for {who}**: "
              f"{per_a:.2f} → {per_b:.2f} GiB ({a.serving.kv_bytes_per_token / 1024:.0f} → "
              f"{b.serving.kv_bytes_per_token / 1024:.0f} KiB per token).",
              f"**{labels[1]} 为{who}省下 {per_a - per_b:.2f} GiB KV 缓存**：{per_a:.2f} → "
              f"{per_b:.2f} GiB（每 token {a.serving.kv_bytes_per_token / 1024:.0f} → "
              f"{b.serving.kv_bytes_per_token / 1024:.0f} KiB）。")
    pool = _l(lang, f"The engine preallocates a fixed pool ({a.serving.kv_pool_gib:.2f} GiB per GPU), "
              f"so nvidia-smi shows the same {a.total_gib:.2f} GiB either way; the pool holds "
              f"{a.serving.max_tokens:,} → {b.serving.max_tokens:,} tokens "
              f"({a.serving.max_concurrent_seqs} → {b.serving.max_concurrent_seqs} sequences of "
              f"{seq:,} tokens).",
              f"引擎预先分配固定的 KV 池（每卡 {a.serving.kv_pool_gib:.2f} GiB），所以 nvidia-smi 两种情况都显示 "
              f"{a.total_gib:.2f} GiB；池里能放的 token 从 {a.serving.max_tokens:,} 变为 "
              f"{b.serving.max_tokens:,}（{seq:,} token 的序列 {a.serving.max_concurrent_seqs} → "
              f"{b.serving.max_concurrent_seqs} 条）。")
    blocks = [head, pool, _l(lang, "KV cache = 2 (K, V) × layers × KV heads × head_dim × bytes per "
                            "element × tokens; fp8 stores 1 byte per element instead of 2.",
                            "KV 缓存 = 2（K、V）× 层数 × KV 头数 × head_dim × 每元素字节数 × token 数；"
                            "fp8 每元素 1 字节，bf16 为 2 字节。")]
    if not ask.has_model:
        blocks.append(_l(lang, f"(Worked on {a.model}, as no model was named.)",
                         f"（没有指定模型，以 {a.model} 为例。）"))
    figures = [Figure(name="delta", gib=per_a - per_b), Figure(name="a", gib=per_a),
               Figure(name="b", gib=per_b), Figure(name="pool", gib=a.serving.kv_pool_gib),
               Figure(name="total", gib=a.total_gib)]
    kv = [c for c in guide.concepts() if c.stem == "kv-cache"][:1]
    ask_b = target.model_copy(update={"kv_cache_dtype": "fp8"})
    return _finish(ask_b, "delta", blocks, box, _sources(found or kv, lang), figures, [b])


def _compare_rows(ask: Ask, target: Ask, base: dict[str, Any],
                  workload_gpu: bool) -> list[tuple[str, dict[str, Any]]]:
    """The estimator requests of a comparison, one per side (models, GPUs, methods, ZeRO, quant)."""
    from .offline import estimate_args

    lang = ask.lang
    if len(ask.models) > 1:
        return [(m, {**base, "model": m}) for m in ask.models[:4]]
    if len(ask.gpus) > 1:
        return [(g, {**base, "gpu": g}) for g in ask.gpus[:4]]
    if len(ask.workloads) > 1:
        return [(LABELS[lang if lang == "zh" else "en"][w], estimate_args(target, w) | (
            {"gpu": "H100"} if workload_gpu else {})) for w in ask.workloads]
    if len(set(ask.zero_values)) > 1:
        n = base.get("num_gpus", 1)
        return [(f"ZeRO-{z}", {**base, "zero_stage": z, "num_gpus": n if n > 1 else 8})
                for z in sorted(set(ask.zero_values))]
    rows = []
    if len(ask.quants) > 1:
        for q in ask.quants[:4]:
            args = {**base}
            if q in ("bf16", "fp16", "fp32"):
                args.pop("quant", None)
                args["weight_dtype"] = q
            else:
                args["quant"] = q
            rows.append((q.removeprefix("gguf-").upper() if "gguf" in q else q, args))
    return rows


def _compare_pools(ask: Ask, box: Toolbox, results: list[tuple[str, Estimate]],
                   found: list[guide.Concept]) -> Answer:
    """Serving sides under a pool engine: every side fills the same memory budget, so they are
    compared on what the KV pool holds (tokens and sequences), not on nvidia-smi's total."""
    lang = ask.lang
    rows = [(label, e, e.serving) for label, e in results if e.serving is not None]
    best = max(rows, key=lambda r: r[2].max_tokens)
    worst = min(rows, key=lambda r: r[2].max_tokens)
    seq = best[2].seq_len
    lines = [_l(lang, f"| | weights (GiB) | KV pool (GiB) | KV tokens | sequences of {seq:,} |",
                f"| | 权重 (GiB) | KV 池 (GiB) | KV token 数 | {seq:,} token 的序列数 |"),
             "|---|---:|---:|---:|---:|"]
    for label, e, s in rows:
        lines.append(f"| {label} | {e.per_gpu.weights_gib:.2f} | {s.kv_pool_gib:.2f} | "
                     f"{s.max_tokens:,} | {s.max_concurrent_seqs} |")
    head = _l(lang, f"**{best[0]} leaves the most room: {best[2].max_tokens:,} KV-cache tokens "
              f"({best[2].max_concurrent_seqs} sequences of {seq:,})**, against "
              f"{worst[2].max_tokens:,} ({worst[2].max_concurrent_seqs}) for {worst[0]}. The engine "
              f"fills the same budget either way ({best[1].total_gib:.2f} GiB per GPU on nvidia-smi); "
              "smaller weights leave a bigger KV pool.",
              f"**{best[0]} 留的空间最多：KV 缓存可放 {best[2].max_tokens:,} 个 token（{seq:,} token 的序列 "
              f"{best[2].max_concurrent_seqs} 条）**，{worst[0]} 为 {worst[2].max_tokens:,}（"
              f"{worst[2].max_concurrent_seqs} 条）。两种情况引擎都占满同样的预算（nvidia-smi 每卡 "
              f"{best[1].total_gib:.2f} GiB）；权重越小，KV 池越大。")
    figures = [Figure(name=f"{label} {k}", gib=v) for label, e, s in rows
               for k, v in (("weights", e.per_gpu.weights_gib), ("pool", s.kv_pool_gib),
                            ("total", e.total_gib))]
    kv = [c for c in guide.concepts() if c.stem == "kv-cache"][:1]
    return _finish(ask, "compare", [head, "\n".join(lines)], box, _sources(found or kv, lang),
                   figures, [best[1]], None)


def compare(ask: Ask, box: Toolbox) -> Answer:
    """Two (or more) models, GPUs, methods, quantizations or ZeRO stages side by side."""
    from .offline import estimate_args

    lang = ask.lang
    found = guide.match(ask.query.lower())
    workload = ask.considered()[0] if ask.workloads else "inference"
    model = ask.model if ask.has_model else REFERENCE_MODEL
    target = ask.model_copy(update={"model": model, "model_name": ask.model_name or model})
    base = estimate_args(target, workload)
    if not ask.has_gpu:
        base["gpu"] = "H100"
    rows = _compare_rows(ask, target, base, workload_gpu=not ask.has_gpu)
    if not rows:
        return concept(ask, box, kind="compare") if found else other(ask)
    results = [(label, e) for label, args in rows if (e := _est(box, args)) is not None]
    if not results:
        return concept(ask, box, kind="compare") if found else other(ask)
    if all(e.serving is not None for _, e in results) and len({round(e.total_gib, 1) for _, e in
                                                               results}) == 1:
        return _compare_pools(ask, box, results, found)
    head = _l(lang, "| | model | GPU | per GPU (GiB) | usable (GiB) | fits |",
              "| | 模型 | 显卡 | 每卡 (GiB) | 可用 (GiB) | 放得下 |")
    lines = [head, "|---|---|---|---:|---:|---|"]
    for label, e in results:
        fits = _l(lang, "yes" if e.fits else "no", "是" if e.fits else "否")
        lines.append(f"| {label} | {e.model} | {e.num_gpus}x {e.gpu} | {e.total_gib:.2f} | "
                     f"{e.capacity_gib:.2f} | {fits} |")
    small = min(results, key=lambda r: r[1].total_gib)
    big = max(results, key=lambda r: r[1].total_gib)
    blocks = [_l(lang, f"**{small[0]} needs the least: {small[1].total_gib:.2f} GiB per GPU**, "
                 f"against {big[1].total_gib:.2f} GiB for {big[0]}.",
                 f"**{small[0]} 最省：每张卡 {small[1].total_gib:.2f} GiB**，{big[0]} 需要 "
                 f"{big[1].total_gib:.2f} GiB。"), "\n".join(lines)]
    if len(results) == 2:
        field, change = grown_term(small[1], big[1])
        blocks.append(_l(lang, f"The difference is mostly {_term_name(field, lang)} "
                         f"({change:+.2f} GiB): {_FORMULA['en'][field]}.",
                         f"差别主要在{_term_name(field, lang)}（{change:+.2f} GiB）：{_FORMULA['zh'][field]}。"))
    if not ask.has_gpu:
        blocks.append(_l(lang, "(Sized on one H100 80GB, as no GPU was named; the per-GPU "
                         "figures do not depend on the card.)",
                         "（没有指定显卡，按一张 H100 80GB 计算；每卡的数字与显卡无关。）"))
    figures = [Figure(name=str(label), gib=e.total_gib) for label, e in results]
    for label, e in results:
        figures.append(Figure(name=f"{label} weights", gib=e.per_gpu.weights_gib))
        if e.per_gpu.kv_cache_gib:
            figures.append(Figure(name=f"{label} kv", gib=e.per_gpu.kv_cache_gib))
    if not found:
        stem = "quantization" if len(ask.quants) > 1 else "zero" if ask.zero_values else (
            "lora" if set(ask.workloads) & {"lora", "qlora"} else "memory-math")
        found = [c for c in guide.concepts() if c.stem == stem][:1]
    verdict = None
    return _finish(ask, "compare", blocks, box, _sources(found, lang), figures,
                   [e for _, e in results][:1], verdict)
