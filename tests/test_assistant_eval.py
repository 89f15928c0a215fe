"""The evaluation set: its shape, the offline answers (>= 95% right, fast), and LLM mode driven
by the fake server's scripted tool-calling flow (>= 95% right, no fallbacks)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, make_assistant, tool_flow

from assistant.eval.runner import kind, load_questions, run


def test_the_set_covers_languages_kinds_and_conversations() -> None:
    items = load_questions()
    assert len(items) >= 80
    assert len({i["id"] for i in items}) == len(items)
    langs = Counter(i["lang"] for i in items)
    kinds = Counter(kind(i) for i in items)
    verdicts = Counter(i["expect"].get("verdict") for i in items)
    assert langs["zh"] >= 20 and langs["en"] >= 60
    assert kinds["number"] >= 5 and kinds["explanation"] >= 10 and kinds["need-more-info"] >= 5
    assert verdicts["yes"] >= 20 and verdicts["no"] >= 20
    assert sum("source_topic" in i["expect"] for i in items) >= 20
    assert sum(1 for i in items if i.get("conversation")) >= 6
    allowed = {"verdict", "fits", "number_gib", "source_topic"}
    assert all(set(i["expect"]) <= allowed and i["expect"] for i in items)


def test_offline_answers_are_right_and_fast(tmp_path: Path) -> None:
    assistant = make_assistant(tmp_path)
    assistant.ask("warm-up: can I run a 7B model on an A10?", "warm-up")
    report = run(assistant.ask)
    assert report.accuracy >= 0.95, report.text()
    assert report.latency_ms() < 1000, report.text()  # the 200 ms target: headroom bench answers


@pytest.fixture
def flow_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=tool_flow) as fake:
        yield fake


def test_llm_mode_passes_the_set_with_the_scripted_tool_flow(tmp_path: Path,
                                                             flow_server: FakeOpenAI) -> None:
    assistant = make_assistant(tmp_path, flow_server.url)
    report = run(assistant.ask, backend="llm")
    assert report.accuracy >= 0.95, report.text()
    fell_back = [o.item["id"] for o in report.outcomes if o.answer and o.answer.notices]
    assert fell_back == [], report.text()
    assert all(o.answer and o.answer.backend == "llm" for o in report.outcomes)
    assert len(flow_server.requests) >= 2 * len(report.outcomes) - 10
