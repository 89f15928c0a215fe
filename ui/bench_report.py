"""Benchmark reports for ``headroom bench`` and ``bench/*.py``: accuracy and speed.

Accuracy compares like with like (see ``tools.estimator.accuracy``). Speed reports medians and
ratios measured here, never asserted in tests.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from tools.estimator.accuracy import evaluate, loo_errors, summarize


def accuracy_report(rows: bool = False, as_json: bool = False, loo: bool = False) -> str:
    """Median / p90 absolute percentage error by workload, framework and source group.

    ``loo``: leave-one-source-out; every source group is scored with the fitted constants
    (``tools/estimator/data/fitted.toml``) refit on the other groups only.
    """
    _, skipped = evaluate()
    slack_used: dict[str, dict[str, float]] = {}
    if loo:
        errors, slack_used = loo_errors()
    else:
        errors, _ = evaluate()
    tables = {"by workload": summarize(errors, "workload"),
              "by framework": summarize(errors, "framework"),
              "single vs multi-GPU": summarize(errors, "gpus"),
              "by source group": summarize(errors, "group")}
    mode = "leave-one-source-out" if loo else "in-sample"
    if as_json:
        def fmt(t: dict[str, tuple[int, float, float]]) -> dict[str, dict[str, float]]:
            return {k: {"rows": n, "median_ape": round(m, 2), "p90_ape": round(p, 2)}
                    for k, (n, m, p) in t.items()}
        return json.dumps({
            "mode": mode, "modelled": len(errors), "skipped": len(skipped),
            "by_workload": fmt(tables["by workload"]), "by_framework": fmt(tables["by framework"]),
            "by_group": fmt(tables["by source group"]), "by_gpus": fmt(tables["single vs multi-GPU"]),
            "refit_constants": slack_used,
            "rows": [e.__dict__ | {"ape": round(e.ape, 2)} for e in errors] if rows else [],
            "skipped_rows": [{"id": i, "reason": r} for i, r in skipped],
        }, indent=2)
    out = [f"calibration rows modelled: {len(errors)} (not modelled: {len(skipped)}, reasons in "
           f"tools/estimator/data/calibration.jsonl); scoring: {mode}", ""]
    for title, table in tables.items():
        out.append(f"{title:40s} {'rows':>5s} {'median %':>9s} {'p90 %':>7s}")
        for k, (n, med, p) in table.items():
            out.append(f"{k:40s} {n:5d} {med:9.1f} {p:7.1f}")
        out.append("")
    if rows:
        out.append(f"{'id':44s} {'metric':15s} {'measured':>9s} {'estimate':>9s} {'APE %':>6s}")
        for e in sorted(errors, key=lambda e: -e.ape):
            out.append(f"{e.id:44s} {e.metric:15s} {e.measured:9.2f} {e.estimated:9.2f} {e.ape:6.1f}")
    return "\n".join(out)


def _median_us(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def speed_report(repeat: int = 200) -> str:
    """Median wall time of estimate(), fit_matrix() and a cold CLI process."""
    from tools.estimator import estimate, fit_matrix

    cases = {
        "estimate 13B qlora A10": lambda: estimate(model="llama-2-13b", workload="qlora", gpu="A10"),
        "estimate 70B serve 4xH100": lambda: estimate(
            model="llama-3.1-70b", workload="serve", gpu="H100", num_gpus=4, tensor_parallel=4),
        "estimate 8B full (with suggestions)": lambda: estimate(
            model="llama-3.1-8b", workload="full", gpu="RTX 4090"),
    }
    estimate(model="llama-2-7b")  # warm the catalog caches
    lines = [f"{'case':40s} {'median':>12s}"]
    for name, fn in cases.items():
        lines.append(f"{name:40s} {_median_us(fn, repeat):9.0f} us")
    fm_us = _median_us(lambda: fit_matrix("llama-2-13b", gpu="A10"), max(5, repeat // 20))
    lines.append(f"{'fit_matrix 13B on A10':40s} {fm_us:9.0f} us")
    cold = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ui", "estimate", "llama-2-13b", "--gpu", "A10",
                        "--workload", "qlora"], check=True, capture_output=True)
        cold.append(time.perf_counter() - t)
    base = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
        base.append(time.perf_counter() - t)
    cold_ms, base_ms = statistics.median(cold) * 1e3, statistics.median(base) * 1e3
    lines.append(f"{'cold `headroom estimate` process':40s} {cold_ms:9.0f} ms "
                 f"({cold_ms / base_ms:.1f}x a bare `python -c pass` at {base_ms:.0f} ms)")
    return "\n".join(lines)
