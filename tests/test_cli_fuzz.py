"""Fuzzed command lines through the real CLI (click's runner, in process): ``estimate``, ``fit``,
``plan``, ``models``, ``gpus`` and ``probe --from-file -`` with catalog names, sizes of any
magnitude (0, negative, NaN, 10^300), names and paths of any length, generated config.json files
with zero, missing, negative, fractional or absurd dimensions, pastes with lines of any length,
and every numeric flag given NaN, infinities, negatives, huge values or text.

Every invocation must end with status 0, 1 or 2 and no traceback; under ``--json`` stdout must be
strict JSON (no NaN/Infinity) whether it succeeded or failed (``{"error": ..., "field": ...}``).

``HEADROOM_FUZZ_EXAMPLES=10000 pytest tests/test_cli_fuzz.py -q -s`` runs the README's 10,000;
the suite's default is 400 per test.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.estimator import search_gpus, search_models
from ui.cli import main

EXAMPLES = int(os.environ.get("HEADROOM_FUZZ_EXAMPLES", "400"))
CONFIG_DIR = Path(tempfile.mkdtemp(prefix="headroom-fuzz-"))
STATS: Counter[str] = Counter()

MODELS = [m.id for m in search_models("")][:40]
GPUS = [g.id for g in search_gpus("")][:20]
FIELDS = ("hidden_size", "num_attention_heads", "num_hidden_layers", "vocab_size",
          "num_key_value_heads", "intermediate_size", "head_dim", "max_position_embeddings",
          "num_local_experts", "num_experts_per_tok", "kv_lora_rank", "moe_intermediate_size")

odd_numbers = st.one_of(
    st.integers(-10**6, 10**13).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "1e308", "1e309", "-0", "0", "0.0", "1e-320",
                     "", " ", "abc", "1,000", "0x10", "9" * 400]),
)
json_values = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**12),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.sampled_from([0, 1, 2, 8, 32, 4096, 128256, 10**9]),
                        st.text(max_size=8), st.lists(st.integers(), max_size=2))


@st.composite
def config_path(draw: st.DrawFn) -> str:
    cfg: dict[str, Any] = {"hidden_size": 4096, "num_attention_heads": 32,
                           "num_hidden_layers": 32, "vocab_size": 32000}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        if draw(st.booleans()) and name in cfg:
            del cfg[name]
        else:
            cfg[name] = draw(json_values)
    body = draw(st.one_of(st.just(json.dumps(cfg)), st.just(json.dumps(cfg)),
                          st.just("[1, 2]"), st.just("{not json"), st.just("")))
    path = CONFIG_DIR / f"{draw(st.uuids()).hex}" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return str(path)


model_names = st.one_of(
    st.sampled_from(MODELS),
    st.builds(lambda n, u: f"{n}{u}", odd_numbers, st.sampled_from(["B", "b", "M", "T", "t", ""])),
    st.sampled_from(["0B", "0.0b", "5000000T", "99999999B", "1e400B", "0.000001B", "-5B"]),
    st.text(min_size=1, max_size=40),
    st.text(alphabet="abcxyz/.-_ ", min_size=200, max_size=6000),
    st.text(min_size=1, max_size=20).map(lambda t: t + ".json"),
    config_path(),
)
gpu_names = st.one_of(st.sampled_from([*GPUS, "A10", "H100", "rtx 4090"]),
                      st.text(max_size=30), st.text(alphabet="ab1", min_size=300, max_size=2000))

ESTIMATE_FLAGS = {
    "--workload": st.sampled_from(["inference", "serve", "full", "lora", "qlora", "train", ""]),
    "--num-gpus": odd_numbers, "--seq-len": odd_numbers, "--batch-size": odd_numbers,
    "--new-tokens": odd_numbers, "--params-b": odd_numbers, "--lora-r": odd_numbers,
    "--zero-stage": odd_numbers, "--tp": odd_numbers, "--pp": odd_numbers,
    "--gpu-memory-utilization": odd_numbers, "--max-num-batched-tokens": odd_numbers,
    "--quant": st.sampled_from(["none", "int8", "nf4", "gptq-4", "awq-4", "fp8", "q5", ""]),
    "--weight-dtype": st.sampled_from(["auto", "fp32", "bf16", "fp16", "int3"]),
    "--kv-cache-dtype": st.sampled_from(["auto", "fp8", "fp4"]),
    "--optimizer": st.sampled_from(["adamw", "sgd", "adafactor", "lion"]),
    "--offload": st.sampled_from(["none", "optimizer", "optimizer+params", "disk"]),
    "--engine": st.sampled_from(["hf", "vllm", "deepspeed", "llama.cpp", "tgi"]),
    "--lora-targets": st.sampled_from(["all-linear", "qv", "q_proj,v_proj", "nonsense", ""]),
}
PLAN_FLAGS = {
    "--goal": st.sampled_from(["fine-tune", "pre-train", "serve", "inference", "train"]),
    "--objective": st.sampled_from(["fewest_gpus", "cheapest", "fastest", "quality", "best"]),
    "--budget": odd_numbers, "--seq-len": odd_numbers, "--users": odd_numbers,
    "--batch-size": odd_numbers, "--dataset-tokens": odd_numbers, "--epochs": odd_numbers,
    "--max-gpus": st.sampled_from(["1", "2", "8", "0", "-1", "99999999999"]),
    "--top": odd_numbers,
    "--price": st.builds(lambda g, v: f"{g}={v}", st.sampled_from(["H100", "A10", "zz", ""]),
                         odd_numbers),
}


def _flags(draw: st.DrawFn, table: dict[str, Any], most: int) -> list[str]:
    out: list[str] = []
    for flag in draw(st.lists(st.sampled_from(sorted(table)), max_size=most, unique=True)):
        out += [flag, draw(table[flag])]
    return out


@st.composite
def command_line(draw: st.DrawFn) -> tuple[list[str], str | None]:
    command = draw(st.sampled_from(["estimate", "estimate", "fit", "plan", "models", "gpus",
                                    "probe"]))
    json_flag = ["--json"] if draw(st.booleans()) else []
    if command == "estimate":
        args = [draw(model_names), "--gpu", draw(gpu_names), *_flags(draw, ESTIMATE_FLAGS, 4)]
    elif command == "fit":
        args = [draw(model_names), "--gpu", draw(gpu_names), "-n", draw(odd_numbers)]
    elif command == "plan":
        # the search itself is exercised by tests/test_planner.py: keep fuzzed plans to one GPU
        args = [draw(model_names), "--gpu", draw(gpu_names), *_flags(draw, PLAN_FLAGS, 4)]
        if "--max-gpus" not in args:
            args += ["--max-gpus", "2"]
    elif command in ("models", "gpus"):
        args = [draw(st.text(max_size=300))]
    else:
        line = st.one_of(st.text(max_size=80), st.sampled_from([
            "| 0  NVIDIA A100-SXM4-80GB  On | 00000000:07:00.0 Off | 0 |",
            "|  N/A 30C P0 60W / 400W | 0MiB / 81920MiB | 0% Default |",
            "name, memory.total [MiB], memory.used [MiB]", "NVIDIA A10, 23028 MiB, 0 MiB",
            "device,VRAM Total Memory (B),VRAM Total Used Memory (B)"]),
            # past csv's 131,072-character field limit (longer than hypothesis draws directly)
            st.builds(lambda unit, n: (unit * n)[:n],
                      st.text(alphabet="a,|\" 0\t", min_size=1, max_size=12),
                      st.integers(131_000, 140_000)))
        paste = "\n".join(draw(st.lists(line, max_size=6)))
        return [command, "--from-file", "-", *json_flag], paste
    return [command, *args, *json_flag], None


def _strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"non-JSON constant {constant} in --json output")
    return json.loads(text, parse_constant=refuse)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(command_line())
def test_no_command_line_crashes(case: tuple[list[str], str | None]) -> None:
    argv, stdin = case
    result = CliRunner().invoke(main, argv, input=stdin, catch_exceptions=True)
    STATS["invocations"] += 1
    STATS[f"exit {result.exit_code}"] += 1
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        STATS["tracebacks"] += 1
        raise AssertionError(f"{argv[:2]}...: {type(result.exception).__name__}: "
                             f"{result.exception}") from result.exception
    assert result.exit_code in (0, 1, 2), (argv[:3], result.output[-500:])
    assert "Traceback" not in result.output
    if "--json" in argv:
        data = _strict(result.stdout)
        if result.exit_code != 0:
            assert isinstance(data, dict) and data["error"] and "field" in data, data
            STATS["json errors"] += 1


def test_zz_report() -> None:
    """Print the totals (``-s``) so that the README's figures come from a run."""
    if STATS:
        print(f"\nfuzzed CLI invocations: {dict(sorted(STATS.items()))}")
    assert STATS.get("tracebacks", 0) == 0


@pytest.mark.parametrize("argv", [
    ["estimate", "0B"], ["estimate", "99999999B"], ["plan", "5000000T"],
    ["estimate", "x" * 300], ["fit", "y" * 5000, "--gpu", "A10"],
    ["plan", "llama-2-7b", "--price", "H100=nan"], ["plan", "llama-2-7b", "--epochs", "inf"],
    ["plan", "llama-2-7b", "--dataset-tokens", "-5"], ["plan", "llama-2-7b", "--budget", "-1"],
])
def test_the_reported_crashes_are_clear_errors(argv: list[str]) -> None:
    for as_json in (False, True):
        result = CliRunner().invoke(main, [*argv, *(["--json"] if as_json else [])])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        if as_json:
            error = _strict(result.stdout)
            assert set(error) == {"error", "field"} and error["field"]
        else:
            assert result.output.startswith("Error: ") and len(result.output) < 600


@pytest.mark.parametrize(("cfg", "field"), [
    ({"num_attention_heads": 0}, "num_attention_heads"),
    ({"num_hidden_layers": 0}, "num_hidden_layers"),
    ({"hidden_size": None}, "hidden_size"),
    ({"vocab_size": -1}, "vocab_size"),
    ({"num_key_value_heads": 64}, "num_key_value_heads"),
    ({"hidden_size": 4096.5}, "hidden_size"),
    ({"intermediate_size": "big"}, "intermediate_size"),
])
def test_bad_config_files_name_the_field(tmp_path: Path, cfg: dict[str, Any], field: str) -> None:
    base = {"hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 32,
            "vocab_size": 32000}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({k: v for k, v in {**base, **cfg}.items() if v is not None}))
    result = CliRunner().invoke(main, ["estimate", str(path)])
    assert result.exit_code == 1 and field in result.output, result.output
    assert "cannot use config" in result.output
