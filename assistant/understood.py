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
    workloads = ask.considered() if (ask.workloads or ask.has_model) else []
    out = _from_ask(ask, workloads)
    est = _main(estimates or [], workloads)
    if est is not None:
        _from_estimate(ask, est, out)
    if ask.quant == "none" or "quant" in ask.negated:
        out["quant"] = "none"
    return out


def _from_ask(ask: Ask, workloads: list[str]) -> dict[str, Any]:
    """The slots the user's words set."""
    out: dict[str, Any] = {}
    if ask.model:
        out["model"] = ask.model
        out["model_name"] = ask.model_name or ask.model
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
    return out


def _from_estimate(ask: Ask, est: Estimate, out: dict[str, Any]) -> None:
    """Complete ``out`` with the estimator's effective settings (what the numbers used)."""
    settings = est.settings
    for f in _FROM_SETTINGS:
        if settings.get(f) is not None and (f not in out or f in ("seq_len", "batch_size")):
            out[f] = settings[f]
    if est.workload not in _TRAINING:
        stated = ask.model_dump()
        for f in ("grad_ckpt", "optimizer", "lora_r"):
            if stated.get(f) is None:
                out.pop(f, None)
    if est.workload == "serve":
        out["users"] = ask.users or settings.get("batch_size")
        if ask.batch_size is None:
            out.pop("batch_size", None)
    out["num_gpus"] = est.num_gpus
    if not est.gpu_id.startswith("generic-"):
        out["gpu"], out["gpu_name"] = est.gpu_id, est.gpu
    if ask.tensor_parallel == 1:
        out["tensor_parallel"] = 1


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
    parts = [*_what_parts(ask, u, zh, kind), *_hardware_parts(ask, u, zh),
             *_switch_parts(ask, zh)]
    if not parts:
        parts.append("一个关于显存的问题" if zh else "a GPU-memory question")
    head = "理解为：" if zh else "Understood: "
    text = head + ("，" if zh else ", ").join(parts) + ("。" if zh else ".")
    if ask.resolved_note:
        text += (" " if not zh else "") + ask.resolved_note + ("。" if zh else ".")
    return f"_{text}_"


def _what_parts(ask: Ask, u: dict[str, Any], zh: bool, kind: str | None) -> list[str]:
    """Kind, model, workload and precision."""
    parts: list[str] = []
    if kind and kind != "fit":
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
        parts.append(("、" if zh else " / ").join(str(lab.get(w, w)) for w in workload))
    quant, dtype = u.get("quant"), u.get("weight_dtype")
    if quant and quant != "none":
        parts.append(str(quant).removeprefix("gguf-").upper() if "gguf" in str(quant) else
                     str(quant))
    elif dtype and (ask.quant == "none" or "quant" in ask.negated):
        parts.append(f"{dtype}（不量化）" if zh else f"{dtype} (no quantization)")
    elif dtype == "fp32" and ask.weight_dtype is None and "full" in (workload or ()):
        parts.append("AMP 混合精度（fp32 主权重）" if zh else "mixed precision (fp32 master weights)")
    elif dtype:
        parts.append(str(dtype))
    return parts


def _hardware_parts(ask: Ask, u: dict[str, Any], zh: bool) -> list[str]:
    """GPUs, context, users or batch."""
    parts: list[str] = []
    n = u.get("num_gpus") or 1
    if u.get("gpu_name"):
        parts.append(f"{n} 张 {u['gpu_name']}" if zh else f"{n}x {u['gpu_name']}")
    elif u.get("gpu_memory_gb"):
        gb = u["gpu_memory_gb"]
        parts.append(f"{n} 张 {gb:g} GB 显卡" if zh else f"{n}x {gb:g} GB GPU")
    elif ask.paste:
        parts.append("贴出的显卡" if zh else "the pasted GPUs")
    if u.get("seq_len"):
        tokens = _tokens(int(u["seq_len"]))
        parts.append(f"{tokens} 上下文" if zh else f"{tokens} context")
    if u.get("users") and u.get("workload") == "serve":
        parts.append(f"{u['users']} 个并发" if zh else f"{u['users']} concurrent users")
    elif u.get("batch_size") and int(u["batch_size"]) > 1:
        parts.append(f"batch {u['batch_size']}")
    return parts


def _on_off(zh: bool, name_zh: str, name_en: str, on: bool, off_en: str = "off",
            off_zh: str = "关") -> str:
    if zh:
        return name_zh + ("开" if on else off_zh)
    return f"{name_en} {'on' if on else off_en}"


def _switch_parts(ask: Ask, zh: bool) -> list[str]:
    """Engine, ZeRO, offload, TP and the other switches the user set."""
    parts: list[str] = []
    if ask.engine:
        parts.append(str(ask.engine))
    if ask.zero_stage is not None:
        parts.append(f"ZeRO-{ask.zero_stage}" if ask.zero_stage else
                     ("不用 ZeRO/DeepSpeed" if zh else "no ZeRO/DeepSpeed"))
    if ask.offload is not None:
        none = "无" if zh else "none"
        parts.append(("offload：" if zh else "offload: ") +
                     (none if ask.offload == "none" else ask.offload))
    if ask.tensor_parallel is not None:
        parts.append(f"TP={ask.tensor_parallel}")
    if ask.grad_ckpt is not None:
        parts.append(_on_off(zh, "梯度检查点", "gradient checkpointing", ask.grad_ckpt))
    if ask.flash_attn is not None:
        parts.append(_on_off(zh, "FlashAttention ", "flash attention", ask.flash_attn,
                             "off (eager)", "关（eager）"))
    if ask.optimizer:
        parts.append(ask.optimizer)
    if ask.lora_r:
        parts.append(f"LoRA r={ask.lora_r}")
    if ask.kv_cache_dtype:
        parts.append(f"{ask.kv_cache_dtype} KV cache")
    return parts
