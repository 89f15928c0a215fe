"""Which catalog models fit a GPU: "what can I run on my 3070?".

For each weight format (16-bit, 8-bit, 4-bit GGUF Q4_K_M under llama.cpp) every catalog model is
estimated on the GPU set with the same formulas as ``estimate``; the largest that fit (by total
parameters) are returned with their per-GPU figures. Nothing here is fitted: it is ``estimate``
over the catalog.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .catalog import models
from .errors import EstimatorError
from .estimate import estimate
from .specs import GpuSpec

# The formats a newcomer chooses between, with the engine that runs each (llama.cpp for GGUF).
FORMATS: tuple[tuple[str, str, str | None], ...] = (
    ("none", "16-bit (bf16/fp16)", None),
    ("int8", "8-bit (bitsandbytes)", None),
    ("q4_k_m", "4-bit GGUF Q4_K_M (llama.cpp)", "llama.cpp"),
)


class ModelFit(BaseModel):
    """One model that fits, in one format."""

    model_config = ConfigDict(frozen=True)

    model: str
    model_id: str
    params_b: float
    quant: str
    label: str
    total_gib: float
    capacity_gib: float


def models_that_fit(gpu: str = "H100", num_gpus: int = 1, workload: str = "inference",
                    seq_len: int | None = None, gpu_spec: GpuSpec | None = None,
                    top: int = 3) -> dict[str, list[ModelFit]]:
    """Per format label, the ``top`` largest catalog models that fit (largest first, one per
    size class); models released already quantized are left out."""
    out: dict[str, list[ModelFit]] = {}
    for quant, label, engine in FORMATS:
        fits: list[ModelFit] = []
        for m in models():
            if m.params_b < 0.5 or m.native_quant:  # toys; models shipped quantized (gpt-oss
                continue                              # MXFP4) have no 16-/8-bit row to compare
            try:
                e = estimate(model=m.id, workload=workload, quant=quant, gpu=gpu,
                             num_gpus=num_gpus, seq_len=seq_len, gpu_spec=gpu_spec,
                             engine=engine, suggest=False)
            except EstimatorError:
                continue
            if e.fits:
                fits.append(ModelFit(model=e.model, model_id=e.model_id, params_b=m.params_b,
                                     quant=quant, label=label, total_gib=e.total_gib,
                                     capacity_gib=e.capacity_gib))
        fits.sort(key=lambda f: (-f.params_b, f.total_gib))
        seen: set[float] = set()
        kept = []
        for f in fits:  # one model per size class, so the list spans sizes
            size = round(f.params_b)
            if size not in seen:
                seen.add(size)
                kept.append(f)
        out[label] = kept[:top]
    return out


__all__ = ["FORMATS", "ModelFit", "models_that_fit"]
