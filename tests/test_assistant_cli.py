"""``headroom ask`` (Markdown and the JSON contract), ``headroom chat`` and ``bench answers``,
through click's runner, registered exactly as ``ui/cli.py`` registers them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from fake_openai import FakeOpenAI, shared_kb_settings, tool_flow

from ui.cli_assistant import ask, bench_answers, chat


@click.group()
def cli() -> None:
    """Stand-in for ui.cli.main."""


@cli.group()
def bench() -> None:
    """Stand-in for the bench group."""


cli.add_command(ask)
cli.add_command(chat)
bench.add_command(bench_answers)


@pytest.fixture(autouse=True)
def _kb_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_HOME", str(shared_kb_settings().home))  # index already built


def _run(*args: str, stdin: str | None = None) -> click.testing.Result:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result


def test_ask_json_is_the_contract() -> None:
    data = json.loads(_run("ask", "--json", "Can I fine-tune a 13B model on one A10?").stdout)
    assert set(data) >= {"verdict", "options", "answer", "sources", "backend", "request"}
    # a bare size is judged over the catalog's 13B-class models: QLoRA fits most, never full
    assert data["verdict"] in ("yes", "depends") and data["backend"] == "offline"
    fits: dict[str, list[bool]] = {}
    for o in data["options"]:
        fits.setdefault(o["workload"], []).append(o["fits"])
    assert not any(fits["full"]) and sum(fits["qlora"]) > len(fits["qlora"]) / 2
    assert all({"workload", "fits", "total_gib", "capacity_gib"} <= set(o) for o in data["options"])
    assert all({"title", "path"} <= set(s) for s in data["sources"]) and data["sources"]
    assert data["request"]["model"] == "13B" and data["request"]["gpu"] == "a10"


def test_ask_prints_markdown_and_follow_ups_use_the_conversation() -> None:
    first = _run("ask", "-c", "cli-test-1", "Can I LoRA fine-tune Llama-2-13B on one A10?")
    assert first.stdout.startswith("_Understood: Llama 2 13B, LoRA")
    assert first.stdout.split("\n\n", 1)[1].startswith("**No.**")
    second = _run("ask", "-c", "cli-test-1", "--json", "what about two of them?")
    data = json.loads(second.stdout)
    assert data["verdict"] == "yes" and data["options"][0]["num_gpus"] == 2


def test_ask_reads_a_paste_from_stdin() -> None:
    paste = (Path(__file__).parent / "fixtures" / "nvidia-smi" / "rtx4090_table_RLinf-255.txt")
    result = _run("ask", "--json", "Can I QLoRA Llama-3-8B on these?", "-",
                  stdin=paste.read_text())
    data = json.loads(result.stdout)
    assert data["verdict"] == "yes" and data["options"][0]["num_gpus"] == 2


def test_chat_keeps_the_conversation_until_exit() -> None:
    result = _run("chat", stdin="Can I LoRA fine-tune Llama-2-13B on one A10?\n"
                  "what about two of them?\nexit\n")
    assert "**No.**" in result.stdout and "**Yes.**" in result.stdout


def test_bench_answers_reports_accuracy() -> None:
    data = json.loads(_run("bench", "answers", "--set", "legacy", "--json").stdout)
    assert data["total"] >= 80 and data["accuracy"] >= 0.95 and data["backend"] == "offline"
    blind = json.loads(_run("bench", "answers", "--json").stdout)  # the blind set, both halves
    assert {"tune", "holdout"} <= set(blind)
    assert all(0 < blind[h]["right"] <= blind[h]["total"] for h in ("tune", "holdout"))


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=tool_flow) as fake:
        monkeypatch.setenv("HEADROOM_LLM_BASE_URL", fake.url)
        monkeypatch.setenv("HEADROOM_LLM_MODEL", "fake-model")
        monkeypatch.setenv("HEADROOM_LLM_TIMEOUT", "5")
        yield fake


def test_ask_uses_the_configured_endpoint(llm_env: FakeOpenAI) -> None:
    data = json.loads(_run("ask", "--json", "Can I QLoRA Llama-2-13B on an A10?").stdout)
    assert data["backend"] == "llm" and data["verdict"] == "yes"
    assert llm_env.requests and llm_env.requests[0]["model"] == "fake-model"
    offline = json.loads(_run("ask", "--json", "--backend", "offline", "Can I QLoRA Llama-2-13B "
                              "on an A10?").stdout)
    assert offline["backend"] == "offline" and len(llm_env.requests) == 2


def test_a_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_DB_URL", "mysql://nope")
    result = CliRunner().invoke(cli, ["ask", "Can I run a 7B model on a T4?"])
    assert result.exit_code == 1
    assert "unsupported HEADROOM_DB_URL" in result.output and "Traceback" not in result.output
