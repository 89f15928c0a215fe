"""Concrete changes that make a job fit, each checked by re-running the estimate.

Candidates follow what an experienced engineer tries first: cheap switches (checkpointing,
fused attention, 8-bit optimizer states), then a lighter method (LoRA, QLoRA) or quantization,
then less work per step (batch, sequence), then more GPUs (ZeRO-3 or tensor parallel), then
offload. Only candidates that are valid requests are kept; those that fit come first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import EstimatorError
from .resolve import Job, resolve
from .result import Estimate, Suggestion

MAX_SUGGESTIONS = 5


def _training_candidates(job: Job) -> list[tuple[str, dict[str, Any]]]:
    r = job.req
    out: list[tuple[str, dict[str, Any]]] = []
    if not r.grad_ckpt:
        out.append(("enable gradient checkpointing", {"grad_ckpt": True}))
    if not r.flash_attn:
        out.append(("use FlashAttention/SDPA instead of eager attention", {"flash_attn": True}))
    if job.workload == "full" and r.optimizer == "adamw":
        out.append(("use 8-bit AdamW (bitsandbytes)", {"optimizer": "adamw-8bit"}))
    if job.workload == "full":
        out.append(("switch to LoRA (bf16 base, r=16)", {"workload": "lora", "master_weights": None}))
    if job.workload in ("full", "lora"):
        out.append(("switch to QLoRA (4-bit NF4 base)", {"workload": "qlora", "quant": None,
                                                         "master_weights": None}))
    if job.batch > 1:
        out.append((f"micro-batch 1 with {job.batch}x gradient accumulation", {"batch_size": 1}))
    if job.seq_len > 512:
        out.append((f"sequence length {job.seq_len // 2}", {"seq_len": job.seq_len // 2}))
    for n in (2, 4, 8, 16):
        if n > r.num_gpus:
            out.append((f"{n} GPUs with ZeRO-3 / FSDP full shard",
                        {"num_gpus": n, "zero_stage": 3, "tensor_parallel": 1, "pipeline_parallel": 1}))
    if r.offload == "none":
        stage = r.zero_stage
        out.append(("offload optimizer states to CPU (DeepSpeed ZeRO-Offload)",
                    {"offload": "optimizer", "zero_stage": stage}))
    return out


def _inference_candidates(job: Job) -> list[tuple[str, dict[str, Any]]]:
    r = job.req
    out: list[tuple[str, dict[str, Any]]] = []
    if not r.flash_attn:
        out.append(("use FlashAttention/SDPA instead of eager attention", {"flash_attn": True}))
    if job.quant == "none":
        if job.gpu.supports_fp8 and job.engine in ("vllm", "sglang"):
            out.append(("FP8 weights", {"quant": "fp8"}))
        out.append(("8-bit weights (GPTQ-Int8 checkpoint)", {"quant": "gptq-8"}))
        out.append(("4-bit weights (AWQ or GPTQ-Int4 checkpoint)", {"quant": "awq-4"}))
    if job.kv_dtype != "fp8" and job.engine in ("vllm", "sglang"):
        out.append(("FP8 KV cache (--kv-cache-dtype fp8)", {"kv_cache_dtype": "fp8"}))
    if job.batch > 1:
        out.append((f"batch {max(1, job.batch // 2)}", {"batch_size": max(1, job.batch // 2)}))
    if job.seq_len > 2048:
        out.append((f"context {job.seq_len // 2} tokens", {"seq_len": job.seq_len // 2}))
    for n in (2, 4, 8):
        if n > r.tensor_parallel and job.model.heads % n == 0:
            out.append((f"tensor parallel over {n} GPUs",
                        {"num_gpus": n, "tensor_parallel": n, "pipeline_parallel": 1}))
    return out


def suggestions_for(job: Job, est: Estimate, compute: Callable[[Job], Estimate]) -> list[Suggestion]:
    """Try each candidate change; return those that fit first, then the closest misses."""
    cands = _training_candidates(job) if job.training else _inference_candidates(job)
    tried: list[Suggestion] = []
    for text, update in cands:
        try:
            alt = compute(resolve(job.req.model_copy(update=update), job.gpu))
        except EstimatorError:
            continue
        tried.append(Suggestion(change=text, total_gib=alt.total_gib, fits=alt.fits))
    # of the "more GPUs" family keep only the smallest count that fits
    more = [s for s in tried if " GPUs with " in s.change or s.change.startswith("tensor parallel")]
    first_fit = next((s for s in more if s.fits), None)
    tried = [s for s in tried if s not in more or s is first_fit or (first_fit is None and s is more[-1])]
    fitting = [s for s in tried if s.fits]
    misses = sorted((s for s in tried if not s.fits), key=lambda s: s.total_gib)
    return (fitting + misses)[:MAX_SUGGESTIONS] if fitting else misses[:3]
