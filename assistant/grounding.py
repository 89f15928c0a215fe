"""The grounding check: every memory figure in an LLM answer must match a tool result.

A figure matches when it equals a tool figure at the precision the text wrote it ("29 GB" and
"29.1 GiB" both match 29.07 GiB), read as GiB or as decimal GB. Figures the user wrote (in the
question or earlier in the conversation) are allowed too. Figures are read in every unit
spelling :mod:`assistant.claims` knows ("9 gb", "9 gigabytes", "9-gig", "9 千兆"); anything that
matches nothing is ungrounded, and the pipeline removes it (or rebuilds the answer from the tool
results) instead of showing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .claims import figure_claims, stated_fit
from .tools import ToolResult

GIB_IN_GB = 1024**3 / 1e9


@dataclass(frozen=True)
class Grounding:
    """Result of the check: the figures found, those that match nothing (in GiB) and the same
    unmatched figures exactly as written ("9 gb"), for the notice."""

    figures: tuple[float, ...]
    unmatched: tuple[float, ...]
    unmatched_written: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.unmatched


def matches(value: float, half_unit: float, reference: float) -> bool:
    """True when ``value`` (written to ``half_unit`` precision) is ``reference`` rounded, read
    as GiB or as decimal GB (tool figures carry three decimals, hence the small slack)."""
    tolerance = max(half_unit + 0.006, 0.005 * reference)
    return any(abs(value - ref) <= tolerance for ref in (reference, reference * GIB_IN_GB))


def reference_figures(results: Iterable[ToolResult], allowed: Iterable[str] = ()) -> list[float]:
    """The figures a text may quote: those of successful tool results and of user texts."""
    reference = [f for r in results if r.ok for f in r.figures]
    for extra in allowed:
        reference += [c.gib for c in figure_claims(extra)]
    return reference


def check(text: str, results: Iterable[ToolResult], allowed: Iterable[str] = ()) -> Grounding:
    """Check the memory figures of ``text`` against tool results and user-written texts."""
    reference = reference_figures(results, allowed)
    found = figure_claims(text)
    bad = [c for c in found if not any(matches(c.gib, c.half_unit, r) for r in reference)]
    return Grounding(figures=tuple(c.gib for c in found), unmatched=tuple(c.gib for c in bad),
                     unmatched_written=tuple(c.written for c in bad))


def stated_verdict(text: str) -> str | None:
    """'yes' or 'no' when the text makes a single fit claim anywhere ("Yes, ...",
    "Good news: it fits", "**No.**", "放不下"); None when it makes none or both."""
    said = stated_fit(text)
    return said if said in ("yes", "no") else None
