"""The grounding check: memory figures in an answer must match tool figures (rounded as
written, GiB or decimal GB) or figures the user wrote."""

from __future__ import annotations

import pytest

from assistant.grounding import check, stated_verdict
from assistant.sizing import figures_in, memory_figures
from assistant.tools import ToolResult


def _result(*figures: float, ok: bool = True) -> ToolResult:
    return ToolResult("estimate_memory", {}, "", ok=ok, figures=list(figures))


def test_figures_are_read_with_units_and_precision() -> None:
    assert memory_figures("29.07 GiB, 24GB, 81,559 MiB, 2 TB and 24G显存") == pytest.approx(
        [29.07, 24.0, 81559 / 1024, 2048.0, 24.0])
    assert figures_in("29 GB")[0] == (29.0, 0.5)
    assert memory_figures("8 GPUs, 8k tokens, 70B, H100") == []


@pytest.mark.parametrize(("text", "ok"), [
    ("It needs 29.07 GiB of 22.10 GiB.", True),
    ("About 29 GB, or 29.1 GiB.", True),
    ("In decimal units that is 31.2 GB.", True),   # 29.07 GiB = 31.21 GB
    ("It needs 30 GB.", False),
    ("It needs 28.5 GiB.", False),
    ("No memory figures here.", True),
])
def test_matching_against_tool_figures(text: str, ok: bool) -> None:
    assert check(text, [_result(29.07, 22.1)]).ok is ok


def test_failed_tools_ground_nothing_and_user_figures_count() -> None:
    assert not check("It needs 29.07 GiB.", [_result(29.07, ok=False)]).ok
    assert check("Your 24 GB card is too small.", [], ["does 70B fit in 24 GB?"]).ok
    result = check("Needs 12.5 GiB and 29.07 GiB.", [_result(29.07)])
    assert result.unmatched == (12.5,)


@pytest.mark.parametrize(("text", "verdict"), [
    ("Yes, with QLoRA.", "yes"), ("**No.** It needs more.", "no"), ("可以。QLoRA 放得下", "yes"),
    ("不行，放不下。", "no"), ("It depends on the batch.", None), ("Not sure.", None),
])
def test_the_verdict_an_answer_opens_with(text: str, verdict: str | None) -> None:
    assert stated_verdict(text) == verdict
