"""Accuracy against published measurements (``data/calibration.jsonl``), like with like.

Each calibration row names the estimate output that matches what was measured (``metric``):
peak_allocated, reserved, total, weights or kv_pool. The absolute percentage error (APE) of
each modelled row is reported by workload and by source group, as medians and 90th percentiles.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .errors import EstimatorError
from .estimate import estimate
from .result import Estimate


@dataclass(frozen=True)
class RowError:
    """One modelled calibration row: measured vs estimated (GiB)."""

    id: str
    group: str
    workload: str
    metric: str
    measured: float
    estimated: float
    source_url: str
    gpus: str = "single-GPU"

    @property
    def ape(self) -> float:
        """Absolute percentage error."""
        return abs(self.estimated - self.measured) / self.measured * 100


@cache
def calibration_rows() -> tuple[dict[str, Any], ...]:
    """All imported calibration rows (modelled and skipped, with reasons)."""
    text = resources.files("tools.estimator").joinpath("data", "calibration.jsonl").read_text("utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def metric_value(est: Estimate, metric: str) -> float:
    """The estimate output comparable with a measurement of kind ``metric``."""
    if metric == "peak_allocated":
        return est.peak_allocated_gib
    if metric == "reserved":
        return est.peak_reserved_gib
    if metric == "total":
        return est.total_gib
    if metric == "weights":
        return est.per_gpu.weights_gib
    if metric == "kv_pool":
        return est.serving.kv_pool_gib if est.serving else est.per_gpu.kv_cache_gib
    raise ValueError(f"unknown metric {metric!r}")


def evaluate() -> tuple[list[RowError], list[tuple[str, str]]]:
    """Estimate every modelled row. Returns the errors and (id, reason) for rows not modelled."""
    errors: list[RowError] = []
    skipped: list[tuple[str, str]] = []
    for row in calibration_rows():
        if "request" not in row:
            skipped.append((row["id"], row["skip"]))
            continue
        try:
            est = estimate(suggest=False, **row["request"])
        except EstimatorError as e:
            skipped.append((row["id"], f"estimator error: {e}"))
            continue
        errors.append(RowError(
            id=row["id"], group=row["source_group"], workload=row["workload"],
            metric=row["metric"], measured=row["measured_gib"],
            estimated=metric_value(est, row["metric"]), source_url=row["source_url"],
            gpus="multi-GPU" if row["request"].get("num_gpus", 1) > 1 else "single-GPU",
        ))
    return errors, skipped


def p90(values: list[float]) -> float:
    """90th percentile (inclusive method; the value itself for a single row)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def summarize(errors: list[RowError], key: str) -> dict[str, tuple[int, float, float]]:
    """{group: (rows, median APE, p90 APE)} grouped by ``key`` ('workload', 'group', 'gpus')."""
    groups: dict[str, list[float]] = {}
    for e in errors:
        groups.setdefault(getattr(e, key), []).append(e.ape)
    out = {k: (len(v), statistics.median(v), p90(v)) for k, v in sorted(groups.items())}
    all_ = [e.ape for e in errors]
    if all_:
        out["ALL"] = (len(all_), statistics.median(all_), p90(all_))
    return out
