"""The grounding check: every memory figure in an LLM answer must match a tool result.

A figure matches when it equals a tool figure at the precision the text wrote it ("29 GB" and
"29.1 GiB" both match 29.07 GiB), read as GiB or as decimal GB. Figures the user wrote (in the
question or earlier in the conversation) are allowed too. Anything else is ungrounded, and the
pipeline rebuilds the answer from the tool results instead of showing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .sizing import figures_in, memory_figures
from .tools import ToolResult

GIB_IN_GB = 1024**3 / 1e9


@dataclass(frozen=True)
class Grounding:
    """Result of the check: the figures found and those that match nothing."""

    figures: tuple[float, ...]
    unmatched: tuple[float, ...]

    @property
    def ok(self) -> bool:
        return not self.unmatched


def matches(value: float, half_unit: float, reference: float) -> bool:
    """True when ``value`` (written to ``half_unit`` precision) is ``reference`` rounded, read
    as GiB or as decimal GB (tool figures carry three decimals, hence the small slack)."""
    tolerance = max(half_unit + 0.006, 0.005 * reference)
    return any(abs(value - ref) <= tolerance for ref in (reference, reference * GIB_IN_GB))


def check(text: str, results: Iterable[ToolResult], allowed: Iterable[str] = ()) -> Grounding:
    """Check the memory figures of ``text`` against tool results and user-written texts."""
    reference = [f for r in results if r.ok for f in r.figures]
    for extra in allowed:
        reference += memory_figures(extra)
    found = figures_in(text)
    unmatched = tuple(v for v, half in found if not any(matches(v, half, r) for r in reference))
    return Grounding(figures=tuple(v for v, _ in found), unmatched=unmatched)


_YES = re.compile(r"^\W*(?:yes\b|可以|能|放得下|够)", re.IGNORECASE)
_NO = re.compile(r"^\W*(?:no\b|不行|不能|不可以|放不下|不够)", re.IGNORECASE)


def stated_verdict(text: str) -> str | None:
    """'yes' or 'no' when the answer opens with one ("Yes, ...", "**No.**", "可以", "不行")."""
    if _NO.search(text):
        return "no"
    if _YES.search(text):
        return "yes"
    return None
