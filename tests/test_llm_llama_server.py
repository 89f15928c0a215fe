"""End to end against a real OpenAI-compatible server that is not ours: llama-cpp-python's
``llama_cpp.server`` with SmolLM2-135M-Instruct (tests/llama_server.py).

The model is tiny: it often answers without tools, calls them with nonsense arguments or writes
nonsense. These tests assert what Headroom promises whatever the model does, not the model's
quality: a well-formed answer; verdict, options and figures equal to the estimator's (from the
model's tool calls or the offline fallback); nothing shown that did not pass the check (every
figure in the streamed text is in a tool result or the question, no fit claim contradicts the
estimator); finished within the deadline.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import make_assistant

from assistant import Final, Notice, Token, ToolFinished
from assistant.claims import stated_fit
from assistant.grounding import check
from tools.estimator import estimate

pytestmark = pytest.mark.llama_server
DEADLINE_S = 150.0
SLACK_S = 30.0
"""Time the offline fallback may take after the deadline (loading the guide's index)."""


def _assistant(tmp_path: Path, server: Any) -> Any:
    return make_assistant(tmp_path, server.url, llm_model="smollm2", llm_timeout_s=120.0,
                          deadline_s=DEADLINE_S, llm_max_tokens=200)


def _run(assistant: Any, question: str, cid: str) -> tuple[Any, str, list[str], float]:
    start = time.monotonic()
    events = list(assistant.stream(question, cid))
    elapsed = time.monotonic() - start
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 1 and events[-1] is finals[0]
    shown = "".join(e.text for e in events if isinstance(e, Token))
    tool_texts = [e.result for e in events if isinstance(e, ToolFinished)]
    assert elapsed < DEADLINE_S + SLACK_S, elapsed
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert finals[0].answer.notices == notices or finals[0].answer.backend == "offline"
    return finals[0].answer, shown, tool_texts, elapsed


def _assert_nothing_unchecked(shown: str, question: str, tool_texts: list[str],
                              fits: set[bool]) -> None:
    grounding = check(shown, [], allowed=[question, *tool_texts])
    assert grounding.ok, grounding.unmatched_written
    if len(fits) == 1:
        truth = "yes" if fits == {True} else "no"
        for sentence in re.split(r"(?<=[.!?。！？])\s+|\n", shown):
            said = stated_fit(sentence)
            assert said in (None, truth, "mixed") or "Understood" in sentence, sentence


def test_a_sizing_question(tmp_path: Path, llama_server: Any) -> None:
    question = "Can I LoRA fine-tune Llama-2-13B on one A10?"
    answer, shown, tools, _ = _run(_assistant(tmp_path, llama_server), question, "s")
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    assert answer.verdict == "no" and answer.understood_line_first()
    lora = [o for o in answer.options if o.workload == "lora"]
    assert lora and lora[0].total_gib == est.total_gib and not lora[0].fits
    assert f"{est.total_gib:.2f} GiB" in answer.answer
    _assert_nothing_unchecked(shown, question, tools, {False})
    if shown:  # what streamed is the start of the answer, or was replaced by it
        assert answer.answer.startswith(shown) or answer.backend == "offline"


def test_a_concept_question(tmp_path: Path, llama_server: Any) -> None:
    question = "What does ZeRO stage 2 shard?"
    answer, shown, tools, _ = _run(_assistant(tmp_path, llama_server), question, "c")
    assert answer.answer.strip() and answer.verdict is None and not answer.options
    _assert_nothing_unchecked(shown, question, tools, set())
    _assert_nothing_unchecked(answer.answer, question, tools, set())


def test_a_follow_up_keeps_the_conversation(tmp_path: Path, llama_server: Any) -> None:
    assistant = _assistant(tmp_path, llama_server)
    first = "Can I LoRA fine-tune Llama-2-13B on one A10?"
    _run(assistant, first, "f")
    follow = "And with QLoRA?"
    answer, shown, tools, _ = _run(assistant, follow, "f")
    est = estimate(model="llama-2-13b", workload="qlora", gpu="A10")
    qlora = [o for o in answer.options if o.workload == "qlora"]
    assert qlora and qlora[0].total_gib == est.total_gib and qlora[0].fits == est.fits
    assert answer.verdict in ("yes", "borderline") and answer.understood_line_first()
    _assert_nothing_unchecked(shown, first + " " + follow, tools, {est.fits})
