"""Fitted constants (``data/fitted.toml``), with an override hook for leave-one-source-out.

Only the caching allocator's slack fractions are fitted to calibration rows: PyTorch's allocator
rounds blocks (512 B small / 2 MiB large segments, c10/cuda/CUDACachingAllocator.cpp) and
fragments, and no framework code states the resulting fraction. ``calibrate.py`` fits them;
``accuracy.loo_errors`` refits them without the source it scores.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import Any

_OVERRIDES: dict[str, float] = {}

SINGLE_SOURCE: dict[str, str] = {
    "HOST_BASE_BYTES": "no framework file states it; one rule of thumb for a torch+CUDA process",
    "CUDA_CONTEXT_BYTES": "one measurement per stack (transformers docs model_memory_anatomy.md)",
    "NCCL_BYTES": "order of magnitude from NCCL buffer sizes, not measured here",
    "NON_TORCH_TP1": "vllm-issue-logs calibration rows only",
    "NON_TORCH_TP": "one vLLM TP=2 log (vllm-issue-logs)",
    "CUDA_GRAPHS": "vLLM capture_model log lines, one source",
    "NVME_STAGING_BYTES": "DeepSpeed config-json defaults only, no measurement",
}
"""Constants that only a single source supports; ``estimate`` lists those a job uses in its
assumptions (``single_source_constant``)."""


@cache
def fitted() -> dict[str, Any]:
    """The data file as parsed (values with their descriptions and fit provenance)."""
    with resources.files("tools.estimator").joinpath("data", "fitted.toml").open("rb") as f:
        return tomllib.load(f)


def allocator_slack(kind: str) -> float:
    """Fraction of the allocated peak the allocator reserves on top ('training'/'inference')."""
    key = f"allocator_slack.{kind}"
    if key in _OVERRIDES:
        return _OVERRIDES[key]
    return float(fitted()["allocator_slack"][kind]["value"])


@contextmanager
def override(values: dict[str, float]) -> Iterator[None]:
    """Temporarily replace fitted constants (keys like 'allocator_slack.training')."""
    old = dict(_OVERRIDES)
    _OVERRIDES.update(values)
    try:
        yield
    finally:
        _OVERRIDES.clear()
        _OVERRIDES.update(old)
