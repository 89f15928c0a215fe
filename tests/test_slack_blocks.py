"""Answer -> Block Kit: order, Slack's limits, mrkdwn conversion, citations, CJK tables."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest

from assistant.events import Answer, Source, Verdict
from ui.slack.blocks import (
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    Progress,
    key_suggestion,
    render_answer,
    source_url,
    without_sources,
)
from ui.slack.mrkdwn import split_text, to_mrkdwn, width


def _estimate_answer() -> Answer:
    from assistant.sizing import estimate_option
    from tools.estimator import estimate

    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    q = estimate(model="llama-2-13b", workload="qlora", gpu="A10")
    change = "\n".join(f"- {s.change}: {s.total_gib:.2f} GiB" for s in est.suggestions[:2])
    return Answer(verdict="no", options=[estimate_option(est), estimate_option(q)],
                  answer=f"**No.** It needs {est.total_gib:.2f} GiB.\n\n**What to change**\n"
                  f"{change}\n\n**Sources**\n- [LoRA](knowledge/guide/en/lora.md)",
                  sources=[Source(title="LoRA", path="knowledge/guide/en/lora.md",
                                  section="Memory")],
                  notices=["Answered offline."])


def _all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_verdict_first_then_table_suggestion_answer_sources_notices_buttons() -> None:
    from tools.estimator import estimate

    (msg,) = render_answer(_estimate_answer(), turn_id="t1", docs_url="https://d.example/")
    kinds = [b["type"] for b in msg.blocks]
    assert kinds == ["header", "context", "section", "section", "section", "section", "context",
                     "actions"]
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    table = msg.blocks[2]["text"]["text"]
    assert table.startswith("```\nworkload") and f"{est.total_gib:.2f} GiB" in table
    assert f"{est.capacity_gib:.2f} GiB" in table
    assert msg.blocks[1]["elements"][0]["text"] == "Llama 2 13B · 1× NVIDIA A10"
    assert msg.blocks[3]["text"]["text"].startswith("💡 *Key suggestion:* switch to QLoRA")
    assert "Sources" not in msg.blocks[4]["text"]["text"]  # the body's own list is replaced ...
    assert msg.blocks[5]["text"]["text"] == (  # ... by linked citations
        "*Sources*\n• <https://d.example/knowledge/guide/en/lora.md#memory|LoRA § Memory>")
    assert msg.text == (f"❌ No, it does not fit: LoRA {est.total_gib:.2f} of "
                        f"{est.capacity_gib:.2f} GiB per GPU · Llama 2 13B · 1× NVIDIA A10")


def test_chinese_answer_uses_chinese_labels_and_aligns_wide_characters() -> None:
    answer = _estimate_answer().model_copy(update={"lang": "zh", "answer": "**不行。** 放不下"})
    (msg,) = render_answer(answer, turn_id="t1")
    assert msg.blocks[0]["text"]["text"] == "❌ 放不下"
    lines = msg.blocks[2]["text"]["text"].split("\n")[1:-1]
    assert lines[0].startswith("任务") and "每卡需要" in lines[0]
    assert width(lines[1].split("  ")[0]) == width(lines[0].split("  ")[0])
    assert "👍 有帮助" in _all_text(msg.blocks)


def test_no_verdict_no_header_and_no_buttons_without_turn() -> None:
    (msg,) = render_answer(Answer(answer="ZeRO-2 shards **optimizer states** and gradients."))
    assert [b["type"] for b in msg.blocks] == ["section"]
    assert msg.blocks[0]["text"]["text"] == "ZeRO-2 shards *optimizer states* and gradients."


def test_long_answers_split_within_limits() -> None:
    body = "\n".join(f"line {i} " + "x" * 200 for i in range(2000))
    messages = render_answer(Answer(verdict="yes", answer=body, sources=[
        Source(title=f"S{i}", path=f"https://e.example/{i}") for i in range(5)]), turn_id="t")
    assert len(messages) > 1
    for m in messages:
        assert 1 <= len(m.blocks) <= MAX_BLOCKS
        for b in m.blocks:
            if "text" in b:
                assert 0 < len(b["text"]["text"]) <= MAX_SECTION_CHARS
    assert messages[-1].blocks[-1]["type"] == "actions"
    assert all(m.text == "(continued)" for m in messages[1:])
    joined = "\n".join(b["text"]["text"] for m in messages for b in m.blocks
                       if b["type"] == "section")
    assert all(f"line {i} " in joined for i in range(2000))


def test_header_is_cut_to_150_characters() -> None:
    from ui.slack.blocks import header

    assert len(header("x" * 400)["text"]["text"]) == MAX_HEADER_CHARS


def test_split_keeps_code_blocks_closed_and_reopened() -> None:
    text = "intro\n```\n" + "\n".join(f"row {i:04d} " + "=" * 60 for i in range(200)) + "\n```\nend"
    pieces = split_text(text, 3000)
    assert len(pieces) > 1
    for p in pieces:
        assert len(p) <= 3000
        assert p.count("```") % 2 == 0


def test_split_cuts_a_single_huge_line() -> None:
    pieces = split_text("y" * 10_000, 3000)
    assert "".join(pieces) == "y" * 10_000 and all(len(p) <= 3000 for p in pieces)


@pytest.mark.parametrize("md, expected", [
    ("**bold** and *it* and `co*de*`", "*bold* and _it_ and `co*de*`"),
    ("## Heading **x**", "*Heading x*"),
    ("- a\n  - b", "• a\n  • b"),
    ("see [vLLM docs](https://docs.vllm.ai/x?a=1&b=2)", "see <https://docs.vllm.ai/x?a=1&amp;b=2|vLLM docs>"),
    ("see [guide](knowledge/guide/en/kv.md)", "see guide"),
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("> quoted", ">quoted"),
    ("~~old~~", "~old~"),
    ("```python\nx = 1 < 2\n```", "```\nx = 1 &lt; 2\n```"),
])
def test_markdown_to_mrkdwn(md: str, expected: str) -> None:
    assert to_mrkdwn(md) == expected


def test_markdown_table_becomes_aligned_code_block() -> None:
    md = "| per GPU | GiB |\n|---|---:|\n| weights | 24.24 |\n| **total** | **29.07** |"
    assert to_mrkdwn(md) == "```\nper GPU  GiB\nweights  24.24\ntotal    29.07\n```"


def test_key_suggestion_and_sources_stripping() -> None:
    from tools.estimator import estimate

    first = estimate(model="llama-2-13b", workload="lora", gpu="A10").suggestions[0]
    assert key_suggestion(_estimate_answer()) == f"{first.change}: {first.total_gib:.2f} GiB"
    assert key_suggestion(Answer(answer="**Yes.** fits")) is None
    zh = Answer(answer="**不行。**\n\n**怎么改**\n- 改用 QLoRA: 10.55 GiB")
    assert key_suggestion(zh) == "改用 QLoRA: 10.55 GiB"
    assert without_sources("a\n\n**Sources**\n- [x](y)\n") == "a"
    assert without_sources("**Sources** are below\ntext") == "**Sources** are below\ntext"


def test_source_links() -> None:
    assert source_url(Source(title="t", path="https://x.example/a"), None) == "https://x.example/a"
    assert source_url(Source(title="t", path="k/a.md"), None) is None
    assert source_url(Source(title="t", path="k/a.md", section="KV cache: size!"),
                      "https://d/") == "https://d/k/a.md#kv-cache-size"


def test_progress_lines_track_tools_and_notices() -> None:
    p = Progress()
    p.started("estimate_memory")
    p.started("search_guide")
    p.finished("estimate_memory", ok=True)
    p.finished("search_guide", ok=False)
    p.notices.append("LLM unavailable, answered offline")
    lines = p.message().blocks[1]["elements"][0]["text"].split("\n")
    assert lines == ["✓ `estimate_memory` done", "✗ `search_guide` failed",
                     "ℹ️ LLM unavailable, answered offline"]


_VERDICT_WORDS = {("en", "yes"): ("yes", "fits"), ("zh", "yes"): ("可以", "放得下"),
                  ("en", "no"): ("no", "fit"), ("zh", "no"): ("放不下",),
                  ("en", "borderline"): ("borderline",), ("zh", "borderline"): ("临界",),
                  ("en", "depends"): ("depends",), ("zh", "depends"): ("取决于",)}


@pytest.mark.parametrize("question", [
    "Can I fine-tune a 13B model on one A10?",               # a size class: "depends"
    "一张 RTX 4090 能用 QLoRA 微调 Qwen2.5 14B 吗？",            # within 8%: "borderline"
    "Can I run full fine-tuning of llama 3 70b on one 4090?",  # "no"
    "Can I run Llama-3.2-1B inference on one A10?",           # "yes"
])
def test_notification_text_says_the_verdict_once_with_its_figure(question: str) -> None:
    import re
    import sqlite3

    from assistant import Assistant
    from assistant.memory import SqlStore

    store = SqlStore(lambda: sqlite3.connect(":memory:", check_same_thread=False))
    answer = Assistant(store=store, backend="offline").ask(question, "notify")
    assert answer.verdict is not None and answer.options
    text = render_answer(answer, turn_id="t")[0].text
    low = text.lower()
    for word in _VERDICT_WORDS[(answer.lang, answer.verdict)]:  # once: not "✅ Yes, it fits Yes."
        assert len(re.findall(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low)) == 1, text
    shown = [o for o in answer.options if f"{o.total_gib:.2f}" in text]
    assert shown and all(f"{o.capacity_gib:.2f}" in text for o in shown), text
    if answer.verdict == "depends":  # the range: one that fits, one that does not
        assert {o.fits for o in shown} == {True, False}, text
    elif answer.verdict == "borderline":
        assert len(shown) == 1 and abs(shown[0].total_gib / shown[0].capacity_gib - 1) < 0.08
    else:
        assert len(shown) == 1 and shown[0].fits == (answer.verdict == "yes")
    assert "\n" not in text and "*" not in text


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("verdict", typing.get_args(Verdict))
def test_every_verdict_has_a_header_in_each_language(verdict: str, lang: str) -> None:
    """A verdict the assistant can give (borderline, depends, ...) never breaks the Slack message."""
    question = "能放下吗？" if lang == "zh" else "does it fit?"
    answer = Answer(verdict=verdict, answer=question, lang=lang)  # type: ignore[arg-type]
    (msg,) = render_answer(answer, turn_id="t1")
    headers = [b for b in msg.blocks if b["type"] == "header"]
    assert len(headers) == 1
    assert headers[0]["text"]["text"].strip()
    assert msg.text.strip()
