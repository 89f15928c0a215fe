"""Helpers behind the sizing tools: the GPU to size for, default parallel layouts, the figures a
tool result contains (for the grounding check) and the options it decides (for the verdict).

Every number here is read from estimator or probe objects; nothing is typed in by hand.
"""

from __future__ import annotations

import re
from typing import Any

from tools.estimator import Estimate, EstimatorError, FitMatrix, GpuSpec, find_gpu, make_request
from tools.estimator.fit import strategy
from tools.estimator.resolve import resolve

from .events import Option

REFERENCE_CONSUMER_GPU = "rtx-4090"
"""A generic "N GB card" loses what this catalog card loses between nominal and usable memory."""

_FIGURE = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.(\d+))?)\s*(GiB|GB|G|MiB|MB|TiB|TB)"
                     r"(?![A-Za-z])")
_UNIT_GIB = {"GIB": 1.0, "GB": 1.0, "G": 1.0, "MIB": 1 / 1024, "MB": 1 / 1024, "TIB": 1024.0,
             "TB": 1024.0}


class ToolError(EstimatorError):
    """A tool cannot run as asked (e.g. probing disabled); the message goes back to the model."""


def figures_in(text: str) -> list[tuple[float, float]]:
    """Memory figures written in ``text`` ("29.07 GiB", "24GB", "81559 MiB") as (GiB, half a
    unit of the last written digit in GiB), the precision the writer used."""
    out = []
    for m in _FIGURE.finditer(text):
        scale = _UNIT_GIB[m.group(3).upper()]
        digits = len(m.group(2) or "")
        out.append((float(m.group(1).replace(",", "")) * scale, 0.5 * 10 ** -digits * scale))
    return out


def memory_figures(text: str) -> list[float]:
    """Every memory figure written in ``text``, in GiB."""
    return [value for value, _ in figures_in(text)]


def generic_gpu(memory_gb: float) -> GpuSpec:
    """A GPU that is not in the catalog, known only by its memory: the best case (no ECC)."""
    ref = find_gpu(REFERENCE_CONSUMER_GPU)
    reserve = round(ref.memory_gib - ref.usable_gib, 2)
    usable = max(memory_gb - reserve, memory_gb * 0.5)
    return GpuSpec(
        id=f"generic-{memory_gb:g}gb", name=f"{memory_gb:g} GB GPU", vendor="NVIDIA",
        memory_gib=memory_gb, usable_gib=round(usable, 2),
        usable_basis=f"generic card: nominal minus the {reserve} GiB the {ref.name} loses to the "
        "driver (best case: no ECC)",
    )


def gpu_spec_for(gpu: str, memory_gb: float | None, local: GpuSpec | None) -> GpuSpec | None:
    """The GpuSpec to pass to the estimator, or None to look ``gpu`` up in the catalog."""
    if memory_gb is not None:
        return generic_gpu(memory_gb)
    if local is not None:
        return local
    if gpu.strip().lower() == "local":
        raise ToolError("probing this machine's GPU is not available here; ask the user which "
                        "GPU they have (or for pasted nvidia-smi output)")
    return None


def with_layout(fields: dict[str, Any], spec: GpuSpec | None) -> dict[str, Any]:
    """Fill in the fit matrix's default parallel layout for several GPUs when none was given."""
    n = int(fields.get("num_gpus") or 1)
    explicit = any(fields.get(k) is not None for k in
                   ("zero_stage", "tensor_parallel", "pipeline_parallel"))
    if n == 1 or explicit:
        return fields
    job = resolve(make_request(**fields), spec)
    return {**fields, **strategy(str(fields.get("workload", "inference")), n, job.model.heads)}


def gpu_memory_gib(gpu_id: str, spec: GpuSpec | None) -> float | None:
    """Nominal memory of the card the estimate used (for the result text and grounding)."""
    if spec is not None:
        return spec.memory_gib
    try:
        return find_gpu(gpu_id).memory_gib
    except EstimatorError:
        return None


def estimate_figures(est: Estimate, nominal: float | None) -> list[float]:
    """All GiB figures of an estimate."""
    values = [*est.per_gpu.model_dump().values(), est.peak_allocated_gib, est.peak_reserved_gib,
              est.total_gib, est.capacity_gib, abs(est.headroom_gib), est.host_ram_gib,
              *est.phases.values()]
    if est.serving:
        s = est.serving
        values += [s.budget_gib, s.activation_profile_gib, s.non_torch_gib, s.kv_pool_gib,
                   s.cuda_graphs_gib]
    values += [s.total_gib for s in est.suggestions]
    if nominal:
        values.append(nominal)
    return [float(v) for v in values]


def fit_figures(fm: FitMatrix, nominal: float | None) -> list[float]:
    """All GiB figures of a fit matrix."""
    values = [v for r in fm.rows for v in (r.total_gib, r.peak_allocated_gib, r.capacity_gib)]
    values += [abs(r.capacity_gib - r.total_gib) for r in fm.rows]
    if nominal:
        values.append(nominal)
    return [float(v) for v in values]


def estimate_option(est: Estimate) -> Option:
    """The verdict entry of one estimate."""
    return Option(workload=est.workload, fits=est.fits, total_gib=est.total_gib,
                  capacity_gib=est.capacity_gib, model=est.model, gpu=est.gpu,
                  num_gpus=est.num_gpus, terms=est.per_gpu.model_dump())


def fit_options(fm: FitMatrix, workloads: list[str]) -> list[Option]:
    """The verdict entries of the fit matrix rows the question is about."""
    return [Option(workload=r.workload, fits=r.fits, total_gib=r.total_gib,
                   capacity_gib=r.capacity_gib, model=fm.model, gpu=fm.gpu, num_gpus=fm.num_gpus,
                   terms=r.per_gpu.model_dump() if r.per_gpu else {})
            for r in fm.rows if r.workload in workloads and not r.error]


def serving_line(est: Estimate) -> str:
    """The vLLM-style pool in one line (serve estimates)."""
    if not est.serving:
        return ""
    s = est.serving
    return (f"Serving pool: KV cache {s.kv_pool_gib:.2f} GiB holds {s.max_tokens:,} tokens; "
            f"{s.max_concurrent_seqs} concurrent sequences of {est.settings['seq_len']} tokens; "
            f"longest single sequence {s.max_model_len:,} tokens "
            f"({s.kv_bytes_per_token / 1024:.0f} KiB of KV cache per token).")
