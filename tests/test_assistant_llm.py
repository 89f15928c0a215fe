"""LLM mode against the fake OpenAI-compatible server (real HTTP, SSE streaming, tool calls):
the verdict comes from the tools, figures are grounded, citations are kept, the conversation is
sent back, and every fault ends in the offline answer with a notice, within a bounded time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_openai import (
    FakeOpenAI,
    Reply,
    error,
    hang,
    make_assistant,
    malformed,
    shared_kb_settings,
    text,
    tool_call,
    tool_calls,
)

from assistant import Final, Notice, Token, ToolFinished, ToolStarted
from tools.estimator import estimate

QUESTION = "Can I LoRA fine-tune Llama-2-13B on one A10?"
LORA_A10 = {"model": "llama-2-13b", "workload": "lora", "gpu": "A10"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.queue.clear()
    server.requests.clear()
    server.responder = None
    return server


def _assistant(tmp_path: Path, fake: FakeOpenAI, **overrides: Any) -> Any:
    return make_assistant(tmp_path, fake.url, **overrides)


def test_verdict_and_options_come_from_the_tools_not_the_prose(tmp_path: Path,
                                                               fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10), text("It is a 13B model on an A10."))
    answer = _assistant(tmp_path, fake).ask(QUESTION)
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    assert answer.backend == "llm"
    assert answer.verdict == "no"
    assert [(o.workload, o.fits, o.total_gib) for o in answer.options] == [
        ("lora", False, est.total_gib)]
    # the understood and verdict lines are Headroom's, the explanation is the model's
    assert answer.understood_line_first() and "**No.**" in answer.answer
    assert answer.answer.endswith("\n\nIt is a 13B model on an A10.") and answer.notices == []


def test_a_prose_verdict_that_contradicts_the_tools_is_corrected(tmp_path: Path,
                                                                 fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10), text("Yes, that fits easily!"))
    answer = _assistant(tmp_path, fake).ask(QUESTION)
    assert answer.verdict == "no" and "estimator says 'no'" in answer.notices[0]
    assert "fits easily" not in answer.answer and "**No.**" in answer.answer


def test_streams_tokens_and_tool_events_over_sse(tmp_path: Path, fake: FakeOpenAI) -> None:
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    reply = f"No: LoRA needs {est.total_gib:.2f} GiB per GPU of {est.capacity_gib:.2f} GiB usable."
    fake.enqueue(tool_call("estimate_memory", **LORA_A10), text(reply))
    events = list(_assistant(tmp_path, fake).stream(QUESTION, "c1"))
    tokens = [e.text for e in events if isinstance(e, Token)]
    # checked before shown: the verdict lines from the tools, then the prose by sentence
    assert tokens[0].startswith("_Understood:") and tokens[-1] == reply
    assert [e.name for e in events if isinstance(e, ToolStarted)] == ["estimate_memory"]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert finished[0].ok and "DOES NOT FIT" in finished[0].result
    final = events[-1]
    assert isinstance(final, Final) and final.answer.answer == "".join(tokens)
    assert not final.answer.notices
    first = fake.requests[0]
    assert first["stream"] is True and first["messages"][0]["role"] == "system"
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert {"check_fit", "estimate_memory", "search_guide", "read_gpu_paste"} <= set(tools)
    assert "probe_local_gpus" not in tools  # probing is off unless the front end allows it
    workload = tools["estimate_memory"]["parameters"]["properties"]["workload"]
    assert workload["enum"] == ["inference", "serve", "full", "lora", "qlora"]
    assert "Per-GPU memory of one workload" in tools["estimate_memory"]["description"]
    assert fake.requests[1]["messages"][-1]["role"] == "tool"


def test_rounded_figures_from_the_tools_are_accepted(tmp_path: Path, fake: FakeOpenAI) -> None:
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    reply = (f"No. It needs about {round(est.total_gib)} GB ({est.total_gib:.1f} GiB) but an A10 "
             f"(24 GB) has {est.capacity_gib:.2f} GiB usable.")
    fake.enqueue(tool_call("estimate_memory", **LORA_A10), text(reply))
    answer = _assistant(tmp_path, fake).ask(QUESTION)
    assert answer.answer.endswith(reply) and answer.notices == []


def test_an_ungrounded_figure_is_corrected_from_the_tool_results(tmp_path: Path,
                                                                 fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 text("Yes: LoRA of Llama-2-13B needs only 12.5 GiB on an A10."))
    events = list(_assistant(tmp_path, fake).stream(QUESTION, "c"))
    answer = events[-1].answer  # type: ignore[union-attr]
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    # caught by the figure check or the verdict check, whichever runs first
    assert any(isinstance(e, Notice) and ("12.5 GiB" in e.text or "'yes'" in e.text)
               for e in events)
    assert answer.notices and answer.backend == "llm" and answer.verdict == "no"
    assert answer.understood_line_first() and "12.5 GiB" not in answer.body
    assert f"{est.total_gib:.2f} GiB" in answer.answer
    assert "| **total (nvidia-smi)** |" in answer.answer


def test_citations_from_the_guide_are_kept(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("search_guide", query="what does ZeRO stage 2 shard"),
                 text("ZeRO-2 shards the optimizer states and the gradients."))
    answer = _assistant(tmp_path, fake).ask("What does ZeRO stage 2 shard?")
    assert answer.verdict is None
    assert any("zero" in s.path for s in answer.sources)
    assert answer.answer.startswith("ZeRO-2 shards")
    assert "**Sources**" in answer.answer and "(knowledge/guide/en/zero.md)" in answer.answer


def test_an_explanation_with_an_invented_figure_is_replaced(tmp_path: Path,
                                                            fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("search_guide", query="ZeRO stage 2"),
                 text("ZeRO-2 brings a 7B model down to 3.3 GB per GPU."))
    answer = _assistant(tmp_path, fake).ask("What does ZeRO stage 2 shard?")
    # the figure is quoted as the model wrote it; its only sentence removed, nothing is left
    assert "3.3 GB" in answer.notices[0] and answer.backend == "offline"
    assert "3.3 GB" not in answer.answer and any("zero" in s.path for s in answer.sources)


def test_a_clarifying_question_is_need_more_info(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(text("Which GPU do you have, and how many?"))
    answer = _assistant(tmp_path, fake).ask("Can I fine-tune Llama-3-8B?")
    assert answer.verdict == "need_more_info" and answer.backend == "llm"


def test_a_sizing_answer_without_tools_is_replaced(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(text("Sure, it fits."))
    answer = _assistant(tmp_path, fake).ask(QUESTION)
    assert answer.verdict == "no" and answer.notices
    assert answer.options[0].workload == "lora"


def test_the_conversation_is_sent_back_and_survives_a_restart(tmp_path: Path,
                                                               fake: FakeOpenAI) -> None:
    fake.enqueue(text("Which GPU?"))
    _assistant(tmp_path, fake).ask("Can I fine-tune Llama-3-8B?", "conv")
    fake.enqueue(tool_call("check_fit", model="llama-3-8b", gpu="RTX 4090",
                           workloads=["full", "lora", "qlora"]), text("QLoRA and LoRA fit."))
    answer = _assistant(tmp_path, fake).ask("An RTX 4090.", "conv")
    roles = [(m["role"], m["content"]) for m in fake.requests[1]["messages"][1:4]]
    assert roles == [("user", "Can I fine-tune Llama-3-8B?"), ("assistant", "Which GPU?"),
                     ("user", "An RTX 4090.")]
    assert answer.verdict == "yes"
    assert {o.workload: o.fits for o in answer.options}["full"] is False


def _loop(body: dict[str, Any]) -> Reply:
    return tool_call("estimate_memory", **LORA_A10)


FAULTS = {
    "http-500": ([error(500, "boom")], "HTTP 500"),
    "rate-limit": ([error(429, "slow down", retry_after=30)], "retry after 30"),
    "timeout": ([hang(30)], "no answer within 1"),
    "malformed-json": ([malformed()], "malformed"),
    "unknown-tool": ([tool_call("delete_everything", path="/")], "unknown tool"),
    "broken-arguments": ([tool_calls(("estimate_memory", '{"model": "llama-2-13b", "wor'))],
                         "not JSON"),
    "invalid-arguments": ([tool_call("estimate_memory", gpu="A10")] * 2, "invalid arguments"),
    "fault-after-a-tool": ([tool_call("estimate_memory", **LORA_A10), error(502)], "HTTP 502"),
    "endless-tool-loop": ([], "still calling tools"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_fall_back_to_the_offline_answer(tmp_path: Path, fake: FakeOpenAI,
                                                fault: str) -> None:
    replies, reason = FAULTS[fault]
    fake.enqueue(*replies)
    if fault == "endless-tool-loop":
        fake.responder = _loop
    assistant = _assistant(tmp_path, fake, llm_timeout_s=1.0, max_model_calls=4)
    start = time.monotonic()
    events = list(assistant.stream(QUESTION, "c"))
    elapsed = time.monotonic() - start
    answer = events[-1].answer  # type: ignore[union-attr]
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert elapsed < 6, elapsed
    assert answer.backend == "offline" and answer.verdict == "no"
    assert answer.options[0].workload == "lora"
    assert len(notices) == 1 and reason in notices[0], notices
    assert answer.notices == notices
    if fault == "endless-tool-loop":
        assert len(fake.requests) == 4


def test_the_rate_limit_notice_is_in_chinese_for_a_chinese_question(tmp_path: Path,
                                                                    fake: FakeOpenAI) -> None:
    fake.enqueue(error(429, retry_after=3))
    answer = _assistant(tmp_path, fake).ask("单张A10能用LoRA微调Llama-2-13B吗?")
    assert answer.notices[0].startswith("语言模型没有给出回答") and answer.verdict == "no"


def test_unreachable_endpoint_falls_back(tmp_path: Path) -> None:
    assistant = make_assistant(tmp_path, "http://127.0.0.1:9/v1", llm_timeout_s=1.0)
    answer = assistant.ask(QUESTION)
    assert answer.backend == "offline" and answer.verdict == "no"
    assert "cannot reach" in answer.notices[0]


def test_offline_mode_never_imports_langchain() -> None:
    home = shared_kb_settings().home  # the guide index is already built there
    code = ("import sys; from assistant import Assistant;"
            "a = Assistant(backend='auto');"
            "print(a.ask('Can I QLoRA Llama-3.2-1B on a T4?').verdict);"
            "print(sorted(m for m in sys.modules if m.startswith(('langchain', 'openai'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"HEADROOM_HOME": str(home), "PATH": ""})
    verdict, modules = out.stdout.strip().splitlines()
    assert verdict == "yes" and json.loads(modules.replace("'", '"')) == []
