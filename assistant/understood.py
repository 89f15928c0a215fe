"""What the answer understood, as typed slots and as its first line, in the user's language.

``slots(ask, estimates)`` gives the canonical values the answer used (the catalog model id and
the release chosen, workload, quantization, GPU, count, context, batch, users, engine, ZeRO,
offload, flash attention, checkpointing, LoRA rank, ...): what the user said, completed with the
estimator's effective settings. ``line(...)`` renders them ("Understood: Qwen2.5-72B, inference,
bf16 (no quantization), 1x A100 80GB, 8k context") so a misreading shows at once.
"""

from __future__ import annotations

from typing import Any

from tools.estimator import Estimate

from .ask import Ask
from .strings import LABELS

_FROM_SETTINGS = ("weight_dtype", "quant", "kv_cache_dtype", "seq_len", "batch_size", "grad_ckpt",
                  "flash_attn", "optimizer", "lora_r", "zero_stage", "offload", "tensor_parallel",
                  "engine")
_TRAINING = ("full", "lora", "qlora")
_KIND_WORDS = {
    "en": {"why": "why", "concept": "concept", "delta": "what a change saves or costs",
           "compare": "comparison", "capacity": "capacity", "plan": "plan", "fit": "fit check"},
    "zh": {"why": "原因", "concept": "概念", "delta": "改动的增减", "compare": "对比",
           "capacity": "容量", "plan": "方案", "fit": "能否放下"},
}


def slots(ask: Ask, estimates: list[Estimate] | None = None) -> dict[str, Any]:
    """The canonical slots of the answer (see ``assistant/eval/blind/SCHEMA.md``)."""
    out: dict[str, Any] = {}
    if ask.model:
        out["model"] = ask.model
        out["model_name"] = ask.model_name or ask.model
    workloads = ask.considered() if (ask.workloads or ask.has_model) else []
    if len(workloads) == 1:
        out["workload"] = workloads[0]
    elif workloads:
        out["workload"] = workloads
    for f in ("quant", "weight_dtype", "kv_cache_dtype", "seq_len", "batch_size", "users",
              "zero_stage", "tensor_parallel", "offload", "optimizer", "engine", "grad_ckpt",
              "flash_attn", "lora_r", "num_gpus", "gpu_memory_gb"):
        value = getattr(ask, f)
        if value is not None:
            out[f] = value
    if ask.gpu and ask.gpu != "pasted":
        out["gpu"] = ask.gpu
        out["gpu_name"] = ask.gpu_name
    est = _main(estimates or [], workloads)
    if est is not None:
        settings = est.settings
        for f in _FROM_SETTINGS:
            if settings.get(f) is not None and (f not in out or f in ("seq_len", "batch_size")):
                out[f] = settings[f]
        if est.workload not in _TRAINING:
            for f in ("grad_ckpt", "optimizer", "lora_r"):
                if ask.model_dump().get(f) is None:
                    out.pop(f, None)
        if est.workload == "serve":
            out["users"] = ask.users or settings.get("batch_size")
            out.pop("batch_size", None) if ask.batch_size is None else None
        out["num_gpus"] = est.num_gpus
        if not est.gpu_id.startswith("generic-"):
            out["gpu"], out["gpu_name"] = est.gpu_id, est.gpu
        if ask.tensor_parallel == 1:
            out["tensor_parallel"] = 1
    if ask.quant == "none" or "quant" in ask.negated:
        out["quant"] = "none"
    return out


def _main(estimates: list[Estimate], workloads: list[str]) -> Estimate | None:
    for e in estimates:
        if e.workload in workloads:
            return e
    return estimates[0] if estimates else None


def _tokens(n: int) -> str:
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else f"{n:,}"


def line(ask: Ask, u: dict[str, Any], lang: str, kind: str | None = None) -> str:
    """The answer's first line: what was understood, in the user's language."""
    zh = lang == "zh"
    parts: list[str] = []
    if kind and kind not in ("fit",):
        parts.append(_KIND_WORDS["zh" if zh else "en"].get(kind, kind))
    if u.get("model_name"):
        name = str(u["model_name"])
        if ask.bare_size:
            name = (f"{ask.model} 量级的模型" if zh else f"a {ask.model} model (catalog models of "
                    "that size)")
        parts.append(name)
    workload = u.get("workload")
    lab = LABELS["zh" if zh else "en"]
    if isinstance(workload, str):
        parts.append(lab.get(workload, workload))
    elif isinstance(workload, list):
        parts.append(("、" if zh else " / ").join(lab.get(w, w) for w in workload))
    quant = u.get("quant")
    dtype = u.get("weight_dtype")
    if quant and quant != "none":
        parts.append(str(quant).removeprefix("gguf-").upper() if "gguf" in str(quant) else
                     str(quant))
    elif dtype and (ask.quant == "none" or "quant" in ask.negated):
        parts.append(f"{dtype}（不量化）" if zh else f"{dtype} (no quantization)")
    elif dtype:
        parts.append(str(dtype))
    n = u.get("num_gpus") or 1
    if u.get("gpu_name"):
        parts.append(f"{n} 张 {u['gpu_name']}" if zh else f"{n}x {u['gpu_name']}")
    elif u.get("gpu_memory_gb"):
        gb = u["gpu_memory_gb"]
        parts.append(f"{n} 张 {gb:g} GB 显卡" if zh else f"{n}x {gb:g} GB GPU")
    elif ask.paste:
        parts.append("贴出的显卡" if zh else "the pasted GPUs")
    if u.get("seq_len"):
        parts.append(f"{_tokens(int(u['seq_len']))} 上下文" if zh else
                     f"{_tokens(int(u['seq_len']))} context")
    if u.get("users") and u.get("workload") == "serve":
        parts.append(f"{u['users']} 个并发" if zh else f"{u['users']} concurrent users")
    elif u.get("batch_size") and int(u["batch_size"]) > 1:
        parts.append(f"batch {u['batch_size']}")
    if ask.engine:
        parts.append(str(ask.engine))
    if ask.zero_stage is not None:
        parts.append(f"ZeRO-{ask.zero_stage}" if ask.zero_stage else
                     ("不用 ZeRO/DeepSpeed" if zh else "no ZeRO/DeepSpeed"))
    if ask.offload is not None:
        parts.append(("offload：" if zh else "offload: ") + (
            ("无" if zh else "none") if ask.offload == "none" else ask.offload))
    if ask.tensor_parallel is not None:
        parts.append(f"TP={ask.tensor_parallel}")
    if ask.grad_ckpt is not None:
        parts.append(("梯度检查点" + ("开" if ask.grad_ckpt else "关")) if zh else
                     f"gradient checkpointing {'on' if ask.grad_ckpt else 'off'}")
    if ask.flash_attn is not None:
        parts.append(("FlashAttention " + ("开" if ask.flash_attn else "关（eager）")) if zh else
                     f"flash attention {'on' if ask.flash_attn else 'off (eager)'}")
    if ask.optimizer:
        parts.append(ask.optimizer)
    if ask.lora_r:
        parts.append(f"LoRA r={ask.lora_r}")
    if ask.kv_cache_dtype:
        parts.append(f"{ask.kv_cache_dtype} KV cache")
    if not parts:
        parts.append("一个关于显存的问题" if zh else "a GPU-memory question")
    head = "理解为：" if zh else "Understood: "
    text = head + ("，" if zh else ", ").join(parts) + ("。" if zh else ".")
    if ask.resolved_note:
        text += (" " if not zh else "") + ask.resolved_note + ("。" if zh else ".")
    return f"_{text}_"
