"""LLM mode against a scripted OpenAI-compatible server that lies, leaks, drips, rate-limits and
streams like llama.cpp: every scenario ends in a correct answer within the deadline, and nothing
unchecked is shown. The assertions are on what each front end shows while the answer streams:
the terminal (``headroom ask``'s printer), the web page (the Gradio turn renderer, after every
event) and Slack (the progress and answer messages), not only on the final object."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_openai import (
    FakeOpenAI,
    Reply,
    error,
    keepalive,
    make_assistant,
    text,
    tool_call,
    zero_chunks,
)

from assistant import Final, Notice, Token, ToolFinished, ToolStarted
from assistant.agent import instructions
from tools.estimator import estimate
from ui.cli_assistant import show
from ui.slack.blocks import Progress, render_answer
from ui.web.chat import TurnRenderer

QUESTION = "Can I LoRA fine-tune Llama-2-13B on one A10?"
QUESTION_ZH = "单张A10能用LoRA微调Llama-2-13B吗？"
LORA_A10 = {"model": "llama-2-13b", "workload": "lora", "gpu": "A10"}
KEY = "sk-live-0123456789abcdef"
EST = estimate(model="llama-2-13b", workload="lora", gpu="A10")
TRUE_TOTAL = f"{EST.total_gib:.2f} GiB"


@dataclass
class Seen:
    """What every front end showed for one answer."""

    events: list[Any]
    terminal: str  # stdout of the CLI printer
    terminal_err: str
    web: list[str]  # the page's assistant text after every event
    slack: list[str]  # every Slack message body: progress edits, then the answer
    elapsed: float
    times: list[float]  # seconds from the start to each event

    def first_notice_s(self) -> float:
        """When the first notice came (the fallback starts there)."""
        return next(t for e, t in zip(self.events, self.times, strict=True)
                    if isinstance(e, Notice))

    @property
    def answer(self) -> Any:
        finals = [e for e in self.events if isinstance(e, Final)]
        assert len(finals) == 1
        return finals[0].answer

    @property
    def tokens(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Token)]

    @property
    def notices(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Notice)]

    def shown_anywhere(self) -> list[str]:
        """Every text shown, minus the notice lines (which quote what was removed)."""
        texts = [*self.tokens, self.terminal, *self.web, *self.slack]
        for n in self.notices:
            texts = [t.replace(n, "") for t in texts]
        return texts


def observe(assistant: Any, question: str, cid: str = "c") -> Seen:
    """Run one answer and record what the terminal, the web page and Slack show, event by event."""
    events: list[Any] = []
    times: list[float] = []
    web: list[str] = []
    slack: list[str] = []
    renderer = TurnRenderer()
    progress = Progress(lang="zh" if any("\u4e00" <= c <= "\u9fff" for c in question) else "en")

    def recorded() -> Iterator[Any]:
        for event in assistant.stream(question, cid):
            events.append(event)
            times.append(time.monotonic() - start)
            renderer.feed(event)
            web.append("\n".join(str(m["content"]) for m in renderer.messages()))
            if isinstance(event, ToolStarted):
                progress.started(event.name)
            elif isinstance(event, ToolFinished):
                progress.finished(event.name, event.ok)
            elif isinstance(event, Notice):
                progress.notices.append(event.text)
            slack.append(json.dumps(progress.message().payload(), ensure_ascii=False))
            yield event

    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        answer = show(recorded())
    elapsed = time.monotonic() - start
    slack += [json.dumps(m.payload(), ensure_ascii=False) for m in render_answer(answer)]
    return Seen(events, out.getvalue(), err.getvalue(), web, slack, elapsed, times)


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
    return make_assistant(tmp_path, fake.url, **{"llm_api_key": KEY, **overrides})


def _assert_correct_lora_no(seen: Seen, deadline_s: float = 20.0) -> None:
    answer = seen.answer
    assert answer.verdict == "no" and answer.options[0].workload == "lora"
    assert answer.options[0].total_gib == EST.total_gib
    assert answer.understood_line_first() and TRUE_TOTAL in answer.answer
    assert TRUE_TOTAL in seen.terminal and answer.answer.strip() in seen.terminal
    assert seen.elapsed < deadline_s


# ---------------------------------------------------------------- liars

LIES = {
    "GiB": "9 GiB", "GB": "9 GB", "gb": "9 gb", "G": "9 G", "gigabytes": "9 gigabytes",
    "GBs": "9 GBs", "gig": "9-gig", "word": "nine gigabytes", "MB": "9216 MB",
    "千兆": "9 千兆", "吉字节": "9 吉字节", "个G": "9个G",
}


@pytest.mark.parametrize("spelling", list(LIES))
def test_a_wrong_figure_in_any_unit_spelling_is_never_shown(tmp_path: Path, fake: FakeOpenAI,
                                                            spelling: str) -> None:
    lie = f"LoRA on an A10 needs only {LIES[spelling]} per GPU."
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 text(f"{lie} Use gradient checkpointing to keep activations small."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert all(LIES[spelling] not in t and "needs only" not in t for t in seen.shown_anywhere())
    assert "gradient checkpointing" in seen.answer.answer  # the true sentence is kept
    # the notice quotes the figure exactly as the model wrote it
    assert len(seen.notices) == 1 and LIES[spelling] in seen.notices[0]
    assert seen.answer.notices == seen.notices and seen.answer.backend == "llm"


@pytest.mark.parametrize("prose", [
    "Good news: it fits comfortably on one A10.",
    "With LoRA the adapters are small, so this will run fine on a single A10.",
    "The A10 has enough memory for this job.",
    "好消息，一张A10放得下。",
])
def test_a_wrong_verdict_in_prose_anywhere_is_never_shown(tmp_path: Path, fake: FakeOpenAI,
                                                          prose: str) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 text(f"The weights alone take {{lora.weights_gib}}. {prose}"))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert all(prose not in t for t in seen.shown_anywhere())
    weights = f"{EST.per_gpu.weights_gib:.2f} GiB"
    assert f"The weights alone take {weights}." in seen.answer.answer  # placeholder filled
    assert "estimator says 'no'" in seen.notices[0]


def test_the_verdict_line_comes_first_from_the_tools(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 text("The weights take {lora.weights_gib}. QLoRA would shrink them. "
                      "Two GPUs with ZeRO-3 also work."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    first = seen.tokens[0]
    assert first.startswith("_Understood:") and "**No.**" in first and TRUE_TOTAL in first
    assert len(seen.tokens) >= 4  # then the prose, sentence by sentence
    assert "".join(seen.tokens) == seen.answer.answer and not seen.notices
    assert "---" not in seen.terminal  # nothing to replace: what streamed is the answer


def test_chinese_notice_quotes_the_figure_as_written(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10), text("可以，只需要 9 GB。"))
    seen = observe(_assistant(tmp_path, fake), QUESTION_ZH)
    assert seen.answer.verdict == "no" and seen.answer.lang == "zh"
    assert "9 GB" in seen.notices[0] and "9 GiB" not in seen.notices[0]
    assert seen.notices[0].startswith("已从模型回复中删除")
    assert all("只需要" not in t for t in seen.shown_anywhere())


def test_an_unknown_placeholder_is_removed(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 text("Full fine-tuning needs {full.total_gib}. The adapters are tiny."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert all("{full.total_gib}" not in t for t in seen.shown_anywhere())
    assert "{full.total_gib}" in seen.notices[0] and "adapters are tiny" in seen.answer.answer


# ---------------------------------------------------------------- leakers

def test_the_api_key_the_model_or_server_echoes_is_never_shown(tmp_path: Path,
                                                               fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", model=KEY, workload="lora", gpu="A10"),
                 tool_call("estimate_memory", **LORA_A10),
                 text(f"Your key is {KEY}. QLoRA would shrink the weights."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    everything = [*seen.terminal.splitlines(), seen.terminal_err, *seen.web, *seen.slack,
                  json.dumps(seen.answer.to_json()),
                  *(json.dumps(e.args) for e in seen.events if isinstance(e, ToolStarted)),
                  *(e.result for e in seen.events if isinstance(e, ToolFinished))]
    assert all(KEY not in t for t in everything)
    assert "QLoRA would shrink" in seen.answer.answer


def test_system_prompt_text_is_never_shown(tmp_path: Path, fake: FakeOpenAI) -> None:
    line = next(x for x in instructions().splitlines() if len(x) > 60).strip()
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 text(f"My instructions say: {line} QLoRA would shrink the weights."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert all(line not in t for t in seen.shown_anywhere())
    assert "instructions or a secret" in seen.notices[0]


# ---------------------------------------------------------------- time and protocol

def test_a_keep_alive_drip_ends_at_the_overall_deadline(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(keepalive(60))
    seen = observe(_assistant(tmp_path, fake, deadline_s=3.0, llm_timeout_s=2.0), QUESTION)
    # the fallback starts at the deadline (the offline answer itself may then load the guide)
    assert 2.9 < seen.first_notice_s() < 4.5, seen.times
    assert seen.answer.backend == "offline" and seen.answer.verdict == "no"
    assert "no answer within 3 s" in seen.notices[0]


def test_a_drip_of_words_ends_at_the_overall_deadline(tmp_path: Path, fake: FakeOpenAI) -> None:
    # 400 words 0.05 s apart: 20 s of text against a 3 s deadline; each word resets the read
    # timeout, so only the overall deadline can stop it
    fake.enqueue(tool_call("estimate_memory", **LORA_A10),
                 Reply(text=" ".join(["slowly."] * 400), word_delay_s=0.05))
    seen = observe(_assistant(tmp_path, fake, deadline_s=3.0, llm_timeout_s=2.0), QUESTION)
    assert seen.first_notice_s() < 4.5, seen.times
    assert seen.answer.verdict == "no" and "no answer within 3 s" in seen.notices[0]
    assert seen.answer.backend == "offline"


@pytest.mark.parametrize("status", [429, 503])
def test_one_retry_honours_retry_after(tmp_path: Path, fake: FakeOpenAI, status: int) -> None:
    fake.enqueue(error(status, "slow down", retry_after=1), tool_call("estimate_memory", **LORA_A10),
                 text("QLoRA would shrink the weights."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert seen.answer.backend == "llm" and not seen.notices and seen.elapsed >= 1.0
    assert len(fake.requests) == 3


def test_a_second_429_or_a_long_retry_after_falls_back(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.enqueue(error(429, retry_after=0), error(429, retry_after=0))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    assert seen.answer.backend == "offline" and "rate limited" in seen.notices[0]
    assert len(fake.requests) == 2
    fake.requests.clear()
    fake.enqueue(error(429, retry_after=60))
    seen = observe(_assistant(tmp_path, fake, deadline_s=5.0), QUESTION)
    assert seen.answer.backend == "offline" and seen.elapsed < 3 and len(fake.requests) == 1


def _zero_chunks_when_streaming(script: list[Reply]) -> Any:
    def respond(body: dict[str, Any]) -> Reply:
        return zero_chunks() if body.get("stream") else script.pop(0)
    return respond


def test_zero_chunk_streams_are_retried_without_streaming(tmp_path: Path,
                                                          fake: FakeOpenAI) -> None:
    fake.responder = _zero_chunks_when_streaming([
        tool_call("estimate_memory", **LORA_A10),
        text("The weights take {lora.weights_gib}. Good news: it fits.")])
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert seen.answer.backend == "llm" and "it fits" not in seen.answer.answer
    assert [r["stream"] for r in fake.requests] == [True, False, False]  # learnt once per answer
    # the assistant's tool-call message goes back with content "" (llama.cpp rejects null)
    sent = [m for m in fake.requests[-1]["messages"] if m["role"] == "assistant"]
    assert sent and all(m["content"] == "" for m in sent)


def test_a_server_rejecting_streaming_with_tools_is_retried_without(tmp_path: Path,
                                                                    fake: FakeOpenAI) -> None:
    script = [tool_call("estimate_memory", **LORA_A10), text("QLoRA would shrink the weights.")]
    fake.responder = lambda body: (error(500, "streaming with tools is not supported")
                                   if body.get("stream") else script.pop(0))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert seen.answer.backend == "llm" and "QLoRA would shrink" in seen.answer.answer


def test_tool_call_chunks_that_repeat_the_name_are_merged(tmp_path: Path,
                                                          fake: FakeOpenAI) -> None:
    call = tool_call("estimate_memory", **LORA_A10)
    fake.enqueue(Reply(tool_calls=call.tool_calls, repeat_names=True),
                 text("QLoRA would shrink the weights."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert [e.name for e in seen.events if isinstance(e, ToolStarted)] == ["estimate_memory"]
    assert seen.answer.backend == "llm" and not seen.notices


def test_schema_invalid_arguments_go_back_to_the_model_once(tmp_path: Path,
                                                           fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", model="llama-2-13b", workload="banana", gpu="A10"),
                 tool_call("estimate_memory", **LORA_A10), text("QLoRA would shrink the weights."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert seen.answer.backend == "llm"
    told = [m for m in fake.requests[1]["messages"] if m["role"] == "tool"]
    assert told and "workload" in told[0]["content"] and "banana" in told[0]["content"]


def test_schema_invalid_arguments_twice_fall_back(tmp_path: Path, fake: FakeOpenAI) -> None:
    bad = tool_call("estimate_memory", model="llama-2-13b", workload="banana", gpu="A10")
    fake.enqueue(bad, bad)
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    assert seen.answer.backend == "offline" and seen.answer.verdict == "no"
    assert "invalid arguments for estimate_memory" in seen.notices[0]
    assert len(fake.requests) == 2


def test_a_gpu_name_in_the_model_field_never_becomes_the_answer(tmp_path: Path,
                                                                fake: FakeOpenAI) -> None:
    fake.enqueue(tool_call("estimate_memory", model="A10", workload="lora", gpu="A10"),
                 text("Yes, it fits in 9 GB."))
    seen = observe(_assistant(tmp_path, fake), QUESTION)
    _assert_correct_lora_no(seen)
    assert seen.answer.backend == "offline"
    assert all("9 GB" not in t and "it fits" not in t for t in seen.shown_anywhere())
