"""The web app's logic without a server: form, share links, chat rendering, chart data, tabs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner

if not os.environ.get("CI"):  # the chart needs the web extra; CI installs it
    pytest.importorskip("matplotlib")

from assistant.events import Answer, Final, Notice, Source, Token, ToolFinished, ToolStarted
from tools.estimator import EstimateRequest, EstimatorError, estimate, fit_matrix
from tools.estimator.report import verdict_line
from tools.probe import parse_paste
from ui.cli_web import parse_auth, ui
from ui.web.chart import breakdown_figure, chart_title, segments
from ui.web.chat import (
    TurnRenderer,
    answer_markdown,
    guide_link,
    link_guide_paths,
    make_respond,
)
from ui.web.errors import friendly
from ui.web.estimator_view import fit_rows, goal_for, run_estimate, run_plan
from ui.web.form import decode_query, defaults, encode_query, form_fields, to_request
from ui.web.gpus_tab import pasted_gpus, probe_markdown
from ui.web.guide_tab import pages, render_page, section_text

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the form and the share link

def test_form_has_every_request_field_but_the_server_file() -> None:
    names = {f.name for f in form_fields()}
    assert names == set(EstimateRequest.model_fields) - {"config_path"}
    by_name = {f.name: f for f in form_fields()}
    assert by_name["workload"].choices == ("inference", "serve", "full", "lora", "qlora")
    assert by_name["quant"].choices[0] == "auto" and by_name["quant"].optional
    assert by_name["master_weights"].kind == "tristate"
    assert by_name["seq_len"].kind == "int" and by_name["seq_len"].default is None
    assert by_name["lora_r"].default == EstimateRequest.model_fields["lora_r"].default


def test_default_form_is_a_valid_request() -> None:
    request = to_request(defaults())
    assert request["quant"] is None and request["engine"] is None and request["seq_len"] is None
    assert estimate(**request).total_gib > 0


def test_share_query_round_trip() -> None:
    values = {**defaults(), "model": "llama-2-13b", "workload": "qlora", "gpu": "a10",
              "seq_len": 4096, "grad_ckpt": False}
    query = encode_query(values)
    params = dict(parse_qsl(query))
    assert params == {"tab": "estimator", "model": "llama-2-13b", "workload": "qlora",
                      "gpu": "a10", "seq_len": "4096", "grad_ckpt": "0"}
    decoded, problems = decode_query(params)
    assert problems == [] and to_request(decoded) == to_request(values)


def test_bad_link_values_are_reported_not_raised() -> None:
    values, problems = decode_query({"workload": "pretrain", "num_gpus": "two", "model": "7B"})
    assert values["model"] == "7B" and values["workload"] == defaults()["workload"]
    assert len(problems) == 2 and "workload" in problems[0] and "num gpus" in problems[1]


def test_emptied_optional_numbers_mean_default() -> None:
    request = to_request({**defaults(), "seq_len": 0, "params_b": ""})
    assert request["seq_len"] is None and request["params_b"] is None


def test_form_errors_are_one_readable_line() -> None:
    with pytest.raises(ValueError, match="model: pick a model"):
        to_request({**defaults(), "model": "  "})
    with pytest.raises(ValueError, match="num gpus: 1.5 is not a whole number"):
        to_request({**defaults(), "num_gpus": 1.5})


# ---------------------------------------------------------------- estimator view and chart

def test_estimate_view_numbers_come_from_the_estimator() -> None:
    values = {**defaults(), "model": "llama-2-13b", "workload": "lora", "gpu": "a10"}
    view = run_estimate(values)
    est = estimate(model="llama-2-13b", workload="lora", gpu="a10")
    assert verdict_line(est) in view.summary
    assert sum(v for _, v, _ in segments(est)) == pytest.approx(est.total_gib, abs=0.01)
    assert view.fit_rows == fit_rows(fit_matrix("llama-2-13b", gpu="a10"))
    assert chart_title(est) == f"DOES NOT FIT: {est.total_gib:.2f} of {est.capacity_gib:.2f} " \
                               "GiB usable per GPU"
    ax = breakdown_figure(est).axes[0]
    assert ax.get_title(loc="left") == chart_title(est)
    capacity_line: Any = ax.lines[0].get_xdata()
    assert capacity_line[0] == pytest.approx(est.capacity_gib)
    assert "workload=lora" in view.query and "gpu=a10" in view.query


def test_serve_view_shows_the_pool() -> None:
    view = run_estimate({**defaults(), "model": "llama-3-8b", "workload": "serve"})
    pool = view.estimate.serving
    assert pool is not None and f"| concurrent sequences | {pool.max_concurrent_seqs:,} |" in view.summary


def test_plan_view_has_ranked_options_and_recipes() -> None:
    view = run_plan({**defaults(), "model": "llama-3-70b", "workload": "qlora", "gpu": "a10"})
    assert view.rows and [r[0] for r in view.rows] == list(range(1, len(view.rows) + 1))
    assert len(view.recipes) == len(view.rows) == len(view.labels)
    assert "# ---- run ----" in view.recipes[0]
    assert goal_for("qlora", "auto") == "fine-tune" and goal_for("serve", "auto") == "serve"


def test_unknown_model_is_a_readable_message() -> None:
    with pytest.raises(EstimatorError) as info:
        run_estimate({**defaults(), "model": "llama-9000"})
    text = friendly(info.value)
    assert "unknown model 'llama-9000'" in text and "Traceback" not in text


def test_unexpected_errors_hide_the_internals() -> None:
    text = friendly(KeyError("secret internals"))
    assert text.startswith("Something went wrong (KeyError)") and "secret" not in text


# ---------------------------------------------------------------- chat rendering

def _events() -> Iterator[object]:
    yield ToolStarted("check_fit", {"model": "13B", "gpu": "a10"}, "c1")
    yield ToolFinished("check_fit", "| workload | fits |\n|---|---|\n| qlora | yes |", True, "c1")
    yield Notice("offline answer")
    yield Token("Yes")
    yield Final(Answer(verdict="yes", answer=(
        "**Yes, with QLoRA.**\n\n**Sources**\n- [QLoRA: 4-bit § What fits where]"
        "(knowledge/guide/en/qlora.md)"), sources=[
        Source(title="QLoRA: 4-bit § What fits where", path="knowledge/guide/en/qlora.md",
               section="What fits where"),
        Source(title="ZeRO", path="knowledge/guide/en/zero.md", section="ZeRO++")]))


def test_turn_renderer_shows_tool_steps_and_linked_sources() -> None:
    ticks = iter([10.0, 10.25])
    turn = TurnRenderer(clock=lambda: next(ticks))
    for event in _events():
        turn.feed(event)
    step, answer = turn.messages()
    assert step["metadata"] == {"title": "🔧 check_fit(model=13B, gpu=a10)", "status": "done",
                                "id": "step-0", "duration": 0.25}
    assert '"model": "13B"' in step["content"] and "| qlora | yes |" in step["content"]
    text = answer["content"]
    assert text.startswith("> ℹ️ offline answer") and "**Yes, with QLoRA.**" in text
    assert "(?tab=guide&doc=en%2Fqlora.md&section=What+fits+where)" in text
    assert "knowledge/guide" not in text
    assert "[ZeRO § ZeRO++](?tab=guide&doc=en%2Fzero.md&section=ZeRO%2B%2B)" in text


def test_respond_streams_and_keeps_the_conversation_id() -> None:
    seen: list[str] = []

    def stream(message: str, conversation_id: str) -> Iterator[object]:
        seen.append(conversation_id)
        yield from _events()

    respond = make_respond(stream)
    updates = list(respond("can I?", [], ""))
    conv = updates[0][1]
    assert conv.startswith("web-") and all(c == conv for _, c in updates) and seen == [conv]
    assert updates[0][0][0]["metadata"]["status"] == "pending"  # streamed before the result
    assert list(respond("and two?", [], conv))[-1][1] == conv


def test_respond_turns_a_failing_pipeline_into_a_message() -> None:
    def broken(message: str, conversation_id: str) -> Iterator[object]:
        yield ToolStarted("check_fit", {}, "x")
        raise RuntimeError("boom")

    messages, _ = list(make_respond(broken)("q", [], "c"))[-1]
    assert messages[0]["metadata"]["status"] == "done"
    assert "Something went wrong (RuntimeError)" in messages[-1]["content"]


def test_guide_links() -> None:
    assert guide_link(Source(title="T", path="notes/team.md")) == "?tab=guide&q=T"
    assert link_guide_paths("[a § B c](guide/zh/kv-cache.md)") == \
        "[a § B c](?tab=guide&doc=zh%2Fkv-cache.md&section=B+c)"
    assert answer_markdown(Answer(answer="plain", sources=[])) == "plain"


# ---------------------------------------------------------------- GPUs and guide tabs

def test_probe_markdown_uses_the_probe_numbers() -> None:
    result = parse_paste((FIXTURES / "h100_table_wilicc-gpu-burn-114.txt").read_text())
    text = probe_markdown(result, "Pasted output")
    g = result.gpus[0]
    assert f"| {g.total_bytes / 2**30:.2f} | {g.used_bytes / 2**30:.2f} |" in text  # type: ignore[operator]
    assert "driver 550.90.07" in text and text.count("| NVIDIA H100 80GB HBM3 |") == len(result.gpus)


def test_unreadable_paste_is_a_message() -> None:
    assert "cannot read the GPU output" in pasted_gpus("hello world")
    assert "Paste the output" in pasted_gpus("   ")


def test_guide_pages_sections_and_refusals() -> None:
    assert len(pages("en")) == len(pages("zh")) >= 10
    doc = "en/qlora.md"
    part = render_page(doc, "Bits per parameter")
    assert "## Bits per parameter" in part and "## The three ingredients" not in part
    assert "not found" in render_page(doc, "No such section")
    for bad in ("../../pyproject.toml", "en/../../README.md", "fr/qlora.md"):
        assert "no guide page" in render_page(bad)
    assert section_text("# T\n## A\nx\n### A1\ny\n## B\nz", "A") == "## A\nx\n### A1\ny"


# ---------------------------------------------------------------- the command

def test_cli_help_and_auth_parsing() -> None:
    result = CliRunner().invoke(ui, ["--help"])
    assert result.exit_code == 0 and "--auth USER:PASSWORD" in result.output
    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret") and parse_auth("") is None
    bad = CliRunner().invoke(ui, ["--auth", "alice"])
    assert bad.exit_code == 2 and "USER:PASSWORD" in bad.output


def test_cli_refuses_a_busy_port_before_starting() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(ui, ["--port", str(port), "--no-warm-up"])
    assert result.exit_code == 1 and f"port {port} on 127.0.0.1 is in use" in result.output


def test_importing_the_command_and_package_does_not_import_gradio() -> None:
    code = ("import sys, ui.cli_web, ui.web; "
            "print('gradio' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
