"""The fit matrix: which of full / LoRA / QLoRA / inference / serving fit a model on a GPU set at
default settings, and the largest batch and sequence length that still fit.

This answers "can I fine-tune 13B on one A10?" in one call. Multi-GPU defaults follow common
practice: training shards with ZeRO-3 / FSDP full-shard, HF inference splits layers over the
GPUs (``device_map="auto"``), serving uses tensor parallelism when it divides the heads.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .assumptions import Assumption, unique
from .errors import EstimatorError
from .estimate import compute, make_request
from .resolve import WORKLOADS_ORDER, Job, resolve
from .result import Estimate, PerGpu
from .specs import GpuSpec

MAX_BATCH = 4096


class FitRow(BaseModel):
    """One workload at default settings on the GPU set."""

    model_config = ConfigDict(frozen=True)

    workload: str
    fits: bool
    total_gib: float
    peak_allocated_gib: float
    capacity_gib: float
    settings: dict[str, Any]
    max_batch: int | None = None
    max_seq_len: int | None = None
    error: str | None = None
    per_gpu: PerGpu | None = None
    """The estimate's per-GPU terms (None for an error row), e.g. for a stacked chart."""


class FitMatrix(BaseModel):
    """Fit of every workload for one model on one GPU set."""

    model_config = ConfigDict(frozen=True)

    model: str
    model_id: str
    gpu: str
    num_gpus: int
    seq_len: int
    rows: list[FitRow]
    assumptions: list[str]
    assumption_items: list[Assumption] = []

    def row(self, workload: str) -> FitRow:
        """The row for one workload."""
        return next(r for r in self.rows if r.workload == workload)


def strategy(workload: str, num_gpus: int, heads: int) -> dict[str, Any]:
    """Default parallel layout for a workload on ``num_gpus`` GPUs."""
    if num_gpus == 1:
        return {}
    if workload in ("full", "lora", "qlora"):
        return {"zero_stage": 3}
    if workload == "serve":
        if heads % num_gpus == 0:
            return {"tensor_parallel": num_gpus}
        return {"pipeline_parallel": num_gpus}
    return {"pipeline_parallel": num_gpus}


def _fits(job: Job, **update: Any) -> tuple[bool, Estimate | None]:
    try:
        est = compute(resolve(job.req.model_copy(update=update), job.gpu))
    except EstimatorError:
        return False, None
    return est.fits, est


def _largest(job: Job, field: str, lo: int, hi: int) -> int | None:
    """Largest value of ``field`` in [lo, hi] that fits (fit is monotone in batch and length)."""
    if not _fits(job, **{field: lo})[0]:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(job, **{field: mid})[0]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit_matrix(model: str, gpu: str = "H100", num_gpus: int = 1, seq_len: int | None = None,
               workloads: tuple[str, ...] = WORKLOADS_ORDER, gpu_spec: GpuSpec | None = None,
               **fields: Any) -> FitMatrix:
    """Estimate each workload at default settings; see the module docstring."""
    rows: list[FitRow] = []
    assumptions: list[str] = []
    items: list[Assumption] = []
    first: Estimate | None = None
    for workload in workloads:
        base = {"model": model, "gpu": gpu, "num_gpus": num_gpus, "workload": workload, **fields}
        if seq_len is not None:
            base["seq_len"] = seq_len
        req = make_request(**base)
        job = resolve(req, gpu_spec)
        req = req.model_copy(update=strategy(workload, num_gpus, job.model.heads))
        try:
            job = resolve(req, gpu_spec)
            est = compute(job)
        except EstimatorError as e:
            rows.append(FitRow(workload=workload, fits=False, total_gib=0.0, peak_allocated_gib=0.0,
                               capacity_gib=0.0, settings={}, error=str(e)))
            continue
        first = first or est
        for a in est.assumptions:
            if a not in assumptions:
                assumptions.append(a)
        items = unique([*items, *est.assumption_items])
        max_batch = max_seq = None
        if est.fits:
            if workload == "serve" and est.serving:
                max_batch = est.serving.max_concurrent_seqs
                max_seq = min(est.serving.max_model_len, job.model.max_position)
            else:
                max_batch = _largest(job, "batch_size", job.batch, MAX_BATCH)
                max_seq = _largest(job, "seq_len", job.seq_len, max(job.seq_len, job.model.max_position))
        rows.append(FitRow(
            workload=workload, fits=est.fits, total_gib=est.total_gib,
            peak_allocated_gib=est.peak_allocated_gib, capacity_gib=est.capacity_gib,
            settings={k: v for k, v in est.settings.items() if v not in (None, False, 0, "none")},
            max_batch=max_batch, max_seq_len=max_seq, per_gpu=est.per_gpu,
        ))
    if first is None:
        raise EstimatorError(rows[0].error if rows else "no workload could be estimated")
    return FitMatrix(model=first.model, model_id=first.model_id, gpu=first.gpu, num_gpus=num_gpus,
                     seq_len=int(str(first.settings["seq_len"])), rows=rows,
                     assumptions=assumptions, assumption_items=items)
