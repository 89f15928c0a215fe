"""Speed and cost, with the formula shown.

- Decode is memory-bound: every generated token reads the (active) weights once per step plus the
  KV cache of every sequence in the batch. step time = bytes read per GPU / (bandwidth x 0.75);
  tokens/s = batch / step time, capped by compute (2 x active params x batch FLOPs per step).
- Prefill and training are compute-bound: FLOPs / (GPUs x peak dense TFLOPS x MFU).
  Training FLOPs per token: 6N for full fine-tuning (forward 2N, backward 4N), 4N for (Q)LoRA
  (no weight gradients for the frozen base), +2N when activations are recomputed
  (https://arxiv.org/abs/2203.15556 appendix F; https://arxiv.org/abs/2205.05198).
- MFU (model FLOPs utilisation) assumed: 0.40 for training, 0.30 for QLoRA (dequantisation),
  0.50 for prefill; bandwidth utilisation 0.75. These are stated in every result.
- Cost = GPU-hours x price per GPU-hour (``data/prices.toml``, each with provider, source, date).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from .kv import kv_cache_bytes
from .params import active_params, param_split
from .resolve import DTYPE_BYTES, Job
from .result import Estimate

BW_UTIL = 0.75
MFU = {"full": 0.40, "lora": 0.40, "qlora": 0.30, "prefill": 0.50}


class Price(BaseModel):
    """One default price entry."""

    model_config = ConfigDict(frozen=True)

    gpu: str
    usd_per_gpu_hour: float
    provider: str
    source: str
    date: str


class Speed(BaseModel):
    """Throughput (and, for training, duration and cost) with the formulas used."""

    model_config = ConfigDict(frozen=True)

    decode_tokens_per_s: float | None = None
    decode_tokens_per_s_per_seq: float | None = None
    prefill_tokens_per_s: float | None = None
    train_tokens_per_s: float | None = None
    hours: float | None = None
    usd_per_hour: float | None = None
    total_usd: float | None = None
    price_source: str | None = None
    formulas: list[str]
    not_estimated: list[str] = []  # what could not be timed and why (memory-only catalog entries)


@cache
def prices() -> dict[str, Price]:
    """Default prices by GPU id."""
    with resources.files("tools.estimator").joinpath("data", "prices.toml").open("rb") as f:
        data = tomllib.load(f)
    return {p["gpu"]: Price(**p) for p in data["price"]}


def peak_tflops(job: Job) -> float:
    """Dense 16-bit (or FP8 for fp8 weights on FP8 hardware) tensor TFLOPS of one GPU."""
    g = job.gpu
    if job.quant == "fp8" and g.fp8_dense_tflops:
        return g.fp8_dense_tflops
    return g.bf16_dense_tflops or g.fp16_dense_tflops


def train_flops_per_token(job: Job) -> float:
    """6N full, 4N (Q)LoRA, +2N with activation recomputation (N = active parameters)."""
    n = active_params(job.model)
    per = 6.0 if job.workload == "full" else 4.0
    if job.req.grad_ckpt:
        per += 2.0
    return per * n


def speed(job: Job, est: Estimate, dataset_tokens: float | None = None, epochs: float = 1.0,
          price: float | None = None) -> Speed:
    """Throughput, time and cost for a resolved job and its estimate."""
    formulas: list[str] = []
    missing: list[str] = []
    gpus = job.req.num_gpus
    tflops = peak_tflops(job)
    usd = price if price is not None else (prices()[job.gpu.id].usd_per_gpu_hour
                                           if job.gpu.id in prices() else None)
    src = None if price is not None or job.gpu.id not in prices() else (
        f"{prices()[job.gpu.id].provider}, {prices()[job.gpu.id].date}")
    out: dict[str, float | None] = {}
    if job.training:
        mfu = MFU[job.workload]
        fpt = train_flops_per_token(job)
        tps = gpus * tflops * 1e12 * mfu / fpt if tflops else None
        out["train_tokens_per_s"] = tps
        if tflops:
            formulas.append(
                f"train tokens/s = GPUs x TFLOPS x MFU / FLOPs per token = {gpus} x {tflops:g}e12 x "
                f"{mfu} / {fpt:.3g}" + (" (compute-bound; offload slows it further)"
                                         if job.req.offload != "none" else "")
            )
        else:
            missing.append(_no_figure(job, "training tokens/s", "dense 16-bit tensor TFLOPS"))
        if tps and dataset_tokens:
            out["hours"] = dataset_tokens * epochs / tps / 3600
            formulas.append(f"hours = {dataset_tokens:.3g} tokens x {epochs:g} epochs / tokens/s / 3600")
    else:
        split = param_split(job.model)
        active_frac = active_params(job.model) / split.total
        weights_read = est.per_gpu.weights_gib * 1024**3 * active_frac
        kv_read = job.batch * kv_cache_bytes(
            job.model, job.seq_len, 1, DTYPE_BYTES[job.kv_dtype], job.req.tensor_parallel,
            job.req.pipeline_parallel)
        bw = job.gpu.memory_bandwidth_gbs * 1e9 * BW_UTIL
        step = (weights_read + kv_read) / bw if bw else None
        flops_step = 2 * active_params(job.model) * job.batch / (job.req.tensor_parallel * job.req.pipeline_parallel)
        compute_step = flops_step / (tflops * 1e12 * MFU["prefill"]) if tflops else 0.0
        if step:
            step = max(step, compute_step)
            out["decode_tokens_per_s"] = job.batch / step
            out["decode_tokens_per_s_per_seq"] = 1 / step
            formulas.append(
                f"decode step = (weights read {weights_read / 1e9:.1f} GB + KV read {kv_read / 1e9:.2f} GB)"
                f" / ({job.gpu.memory_bandwidth_gbs:g} GB/s x {BW_UTIL}) per GPU; tokens/s = batch / step"
            )
        elif not bw:
            missing.append(_no_figure(job, "decode tokens/s", "memory bandwidth"))
        if tflops:
            out["prefill_tokens_per_s"] = gpus * tflops * 1e12 * MFU["prefill"] / (2 * active_params(job.model))
            formulas.append(f"prefill tokens/s = GPUs x TFLOPS x {MFU['prefill']} / (2 x active params)")
        else:
            missing.append(_no_figure(job, "prefill tokens/s (and the compute cap on decode)",
                                      "dense 16-bit tensor TFLOPS"))
    if usd is not None:
        out["usd_per_hour"] = usd * gpus
        hours = out.get("hours")
        if hours is not None:
            out["total_usd"] = hours * usd * gpus
        formulas.append(f"cost = GPU-hours x ${usd:g}/GPU-hour")
    return Speed(**out, price_source=src, formulas=formulas, not_estimated=missing)


def _no_figure(job: Job, what: str, figure: str) -> str:
    """Why a speed is missing: the catalog entry has memory facts but no sourced ``figure``."""
    return f"{what} not estimated: the catalog has no sourced {figure} for the {job.gpu.name}"
