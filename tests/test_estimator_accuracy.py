"""Tolerance test against published measurements (data/calibration.jsonl), like with like."""

from __future__ import annotations

import pytest

from tools.estimator.accuracy import calibration_rows, evaluate, summarize


@pytest.fixture(scope="module")
def results():
    return evaluate()


def test_at_least_300_rows_are_modelled(results) -> None:
    errors, _ = results
    assert len(errors) >= 300


def test_every_skipped_row_has_a_reason(results) -> None:
    _, skipped = results
    assert all(reason and not reason.startswith("estimator error") for _, reason in skipped)


def test_rows_keep_their_sources() -> None:
    assert all(r["source_url"].startswith("http") for r in calibration_rows())


@pytest.mark.parametrize("workload", ["ALL", "inference", "full", "lora", "qlora"])
def test_median_and_p90_error(results, workload: str) -> None:
    errors, _ = results
    n, median, p90 = summarize(errors, "workload")[workload]
    assert n >= 10
    assert median <= 10.0, f"{workload}: median APE {median:.1f}%"
    assert p90 <= 25.0, f"{workload}: p90 APE {p90:.1f}%"


def test_multi_gpu_rows_reach_the_same_bar(results) -> None:
    errors, _ = results
    n, median, p90 = summarize(errors, "gpus")["multi-GPU"]
    assert n >= 30
    assert median <= 10.0 and p90 <= 25.0
