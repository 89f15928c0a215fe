"""The headroom CLI: estimate, fit, models, gpus, bench; errors without tracebacks."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ui.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_estimate_table_shows_breakdown_and_verdict() -> None:
    r = run("estimate", "llama-2-13b", "--workload", "qlora", "--gpu", "A10")
    assert r.exit_code == 0, r.output
    assert "FITS" in r.output and "weights" in r.output and "assumptions" in r.output


def test_estimate_json_is_machine_readable() -> None:
    r = run("estimate", "llama-2-13b", "-w", "lora", "-g", "A10", "--json")
    data = json.loads(r.output)
    assert data["fits"] is False and data["per_gpu"]["weights_gib"] > 24
    assert data["suggestions"]


def test_fit_answers_the_a10_question() -> None:
    r = run("fit", "13B", "--gpu", "A10", "--json")
    rows = {row["workload"]: row["fits"] for row in json.loads(r.output)["rows"]}
    assert rows["full"] is False and rows["lora"] is False and rows["qlora"] is True


def test_bad_input_exits_nonzero_without_traceback() -> None:
    for args in (("estimate", "nonsense-model-x"), ("estimate", "llama-2-7b", "-n", "0"),
                 ("estimate", "llama-2-7b", "-g", "RTX 9999"), ("estimate", "llama-2-7b", "-q", "q5")):
        r = run(*args)
        assert r.exit_code != 0
        assert "Traceback" not in r.output and "Error:" in r.output


def test_models_and_gpus_search() -> None:
    assert "qwen2.5-7b" in run("models", "qwen2.5").output
    out = run("gpus", "a10").output
    assert "a10 " in out and "a10g" in out
    assert run("models", "zzzz-none").exit_code != 0


def test_bench_accuracy_prints_medians() -> None:
    r = run("bench", "accuracy")
    assert r.exit_code == 0 and "median %" in r.output and "qlora" in r.output
