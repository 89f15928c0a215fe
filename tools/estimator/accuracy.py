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

from .constants import allocator_slack, override
from .errors import EstimatorError
from .estimate import estimate
from .request import TRAINING
from .result import Estimate

SLACK_GRID = tuple(i * 0.0025 for i in range(121))  # 0 .. 0.30
SLACK_METRICS = frozenset({"reserved", "total"})


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
    framework: str = "hf"

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
            framework=str(est.settings.get("engine") or "hf"),
        ))
    return errors, skipped


@dataclass(frozen=True)
class BaseRow:
    """A row estimated with zero allocator slack: ``estimate(f) = base + f * peak * uses``."""

    error: RowError
    peak: float
    kind: str
    uses_slack: bool

    def at(self, slack: dict[str, float]) -> RowError:
        """The row's error with the given slack fractions."""
        f = slack[self.kind] if self.uses_slack else 0.0
        e = self.error
        return RowError(**{**e.__dict__, "estimated": e.estimated + f * self.peak})


def base_rows() -> list[BaseRow]:
    """Every modelled row, estimated once with the fitted constants set to zero."""
    with override({"allocator_slack.training": 0.0, "allocator_slack.inference": 0.0}):
        errors, _ = evaluate()
        rows = {r["id"]: r for r in calibration_rows()}
        out = []
        for e in errors:
            req = rows[e.id]["request"]
            training = req.get("workload") in TRAINING
            est = estimate(suggest=False, **req)
            uses = e.metric in SLACK_METRICS and req.get("workload") != "serve"
            out.append(BaseRow(error=e, peak=est.peak_allocated_gib,
                               kind="training" if training else "inference", uses_slack=uses))
    return out


def _loss(rows: list[BaseRow], kind: str, f: float) -> float:
    """Source-group-weighted mean APE of the rows that use the ``kind`` slack at fraction ``f``."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        if r.uses_slack and r.kind == kind:
            groups.setdefault(r.error.group, []).append(r.at({kind: f}).ape)
    if not groups:
        return 0.0
    return sum(sum(v) / len(v) for v in groups.values()) / len(groups)


def fit_slack(rows: list[BaseRow]) -> dict[str, tuple[float, int, int]]:
    """{kind: (fraction, source groups, rows)} minimising the group-weighted mean APE.

    With no rows for a kind the current data-file value is kept."""
    out: dict[str, tuple[float, int, int]] = {}
    for kind in ("training", "inference"):
        used = [r for r in rows if r.uses_slack and r.kind == kind]
        if not used:
            out[kind] = (allocator_slack(kind), 0, 0)
            continue
        best = min(SLACK_GRID, key=lambda f: (_loss(used, kind, f), f))
        out[kind] = (best, len({r.error.group for r in used}), len(used))
    return out


def in_sample_errors(rows: list[BaseRow] | None = None) -> list[RowError]:
    """Every row scored with the constants fitted on all rows."""
    rows = rows if rows is not None else base_rows()
    fit = fit_slack(rows)
    slack = {k: v[0] for k, v in fit.items()}
    return [r.at(slack) for r in rows]


def loo_errors(rows: list[BaseRow] | None = None) -> tuple[list[RowError], dict[str, dict[str, float]]]:
    """Leave-one-source-out: each source group scored with constants fitted without it.

    Returns the errors and, per group, the slack fractions used to score it.
    """
    rows = rows if rows is not None else base_rows()
    out: list[RowError] = []
    used: dict[str, dict[str, float]] = {}
    for group in sorted({r.error.group for r in rows}):
        fit = fit_slack([r for r in rows if r.error.group != group])
        slack = {k: v[0] for k, v in fit.items()}
        used[group] = slack
        out += [r.at(slack) for r in rows if r.error.group == group]
    return out, used


def p90(values: list[float]) -> float:
    """90th percentile (inclusive method; the value itself for a single row)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def summarize(errors: list[RowError], key: str) -> dict[str, tuple[int, float, float]]:
    """{group: (rows, median APE, p90 APE)} grouped by ``key`` ('workload', 'group', 'gpus',
    'framework')."""
    groups: dict[str, list[float]] = {}
    for e in errors:
        groups.setdefault(getattr(e, key), []).append(e.ape)
    out = {k: (len(v), statistics.median(v), p90(v)) for k, v in sorted(groups.items())}
    all_ = [e.ape for e in errors]
    if all_:
        out["ALL"] = (len(all_), statistics.median(all_), p90(all_))
    return out
