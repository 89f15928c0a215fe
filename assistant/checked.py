"""Check before show: the model's prose is cut into sentences, and each sentence is checked
before any front end sees it.

A sentence is shown only when

- its placeholders (``{lora.total_gib}``) name figures of this turn's tool results; they are
  filled by Headroom ("29.07 GiB"), so the model never types a figure it could get wrong;
- every literal memory figure in it, in any unit spelling, matches a tool result or a figure the
  user wrote (:mod:`assistant.grounding`);
- any fit / no-fit claim it makes, wherever in the sentence, agrees with the estimator for the
  workloads it names (or for all of them, when it names none);
- it contains no configured secret and echoes no part of the system prompt.

Anything else is removed, with the reason kept for the notice. :class:`Splitter` cuts a token
stream into such units; :class:`Checker` decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tools.estimator import Estimate

from . import guard
from .claims import stated_fit, workloads_named
from .events import Option
from .grounding import check as ground
from .tools import ToolResult

_BOUNDARY = re.compile(r"[.!?](?=\s)|[。！？；]|\n")
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][\w-]*)\.([a-z_]+)\s*\}")


class Splitter:
    """Cuts streamed text into sentences (a unit ends at ``.!?`` followed by a space, at a
    Chinese full stop, or at a line break); the rest waits for more text."""

    def __init__(self) -> None:
        self.buffer = ""

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the units it completed."""
        self.buffer += text
        out = []
        start = 0
        for m in _BOUNDARY.finditer(self.buffer):
            out.append(self.buffer[start:m.end()])
            start = m.end()
        self.buffer = self.buffer[start:]
        return out

    def flush(self) -> list[str]:
        """The last, unfinished unit (at the end of a model call)."""
        rest, self.buffer = self.buffer, ""
        return [rest] if rest.strip() else []


@dataclass(frozen=True)
class Removal:
    """A unit that was not shown: why, and what it said (figures as written, or the claim)."""

    text: str
    reason: str  # "figure", "verdict", "placeholder", "secret", "instructions"
    said: tuple[str, ...] = ()


def placeholder_values(results: Sequence[ToolResult]) -> dict[str, float]:
    """The figures a model may name: ``<workload>.<field>`` for every option (total_gib,
    capacity_gib, headroom_gib) and every estimate's per-GPU breakdown (weights_gib, ...)."""
    values: dict[str, float] = {}
    for r in results:
        if not r.ok:
            continue
        for o in r.options:
            values.setdefault(f"{o.workload}.total_gib", o.total_gib)
            values.setdefault(f"{o.workload}.capacity_gib", o.capacity_gib)
            values.setdefault(f"{o.workload}.headroom_gib", round(o.capacity_gib - o.total_gib, 3))
        if isinstance(r.data, Estimate):
            for key, value in r.data.per_gpu.model_dump().items():
                values.setdefault(f"{r.data.workload}.{key}", float(value))
    return values


def placeholder_help(results: Sequence[ToolResult]) -> str:
    """A line for the model: the placeholder names it may use instead of typing figures."""
    names = sorted(placeholder_values(results))
    if not names:
        return ""
    return ("Write figures as placeholders, never as numbers; Headroom fills them in: "
            + ", ".join("{" + n + "}" for n in names) + ".")


def fill(text: str, values: dict[str, float]) -> tuple[str, list[str]]:
    """``text`` with known placeholders filled ("29.07 GiB"), and the unknown ones."""
    unknown: list[str] = []

    def sub(m: re.Match[str]) -> str:
        key = f"{m.group(1).lower()}.{m.group(2)}"
        if key not in values:
            unknown.append(m.group(0))
            return m.group(0)
        return f"{values[key]:.2f} GiB"

    return _PLACEHOLDER.sub(sub, text), unknown


def _verdict_ok(claim: str, named: list[str], options: Sequence[Option]) -> bool:
    fits = {o.workload: o.fits for o in options}
    about = [fits[w] for w in named if w in fits] or list(fits.values())
    if not about:
        return True
    if claim == "mixed":
        return len(set(about)) == 2
    return all(f == (claim == "yes") for f in about)


@dataclass
class Checker:
    """Checks units against this turn's tool results, the user's texts and the secrets."""

    secrets: Sequence[str | None] = ()
    allowed: Sequence[str] = ()
    shown: str = ""
    removed: list[Removal] = field(default_factory=list)

    def check(self, unit: str, results: Sequence[ToolResult],
              options: Sequence[Option] | None) -> str | None:
        """The unit as it may be shown (placeholders filled), or None when it was removed.
        ``options`` are the estimator's fit verdicts (None: no sizing result to check
        claims against)."""
        if not unit.strip():
            self.shown += unit
            return unit
        filled, unknown = fill(unit, placeholder_values(results))
        window = self.shown[-200:] + filled
        reason, said = "", tuple(unknown)
        if guard.contains_secret(window, list(self.secrets)):
            reason = "secret"
        elif guard.quotes_instructions(window) or guard.echoes_instructions(filled):
            reason = "instructions"
        elif unknown:
            reason = "placeholder"
        else:
            grounding = ground(filled, results, self.allowed)
            claim = stated_fit(filled) if options else None
            if not grounding.ok:
                reason, said = "figure", grounding.unmatched_written
            elif claim is not None and options and not _verdict_ok(
                    claim, workloads_named(filled), options):
                reason, said = "verdict", (claim,)
        if reason:
            self.removed.append(Removal(unit.strip(), reason, said))
            return None
        self.shown += filled
        return filled


@dataclass
class Gate:
    """Check before show, over one LLM turn: model text goes in as it streams, checked units
    come out. Units are held (not shown) while a sizing question has no sizing result yet, or
    while a fit claim cannot be checked; ``head`` (the understood and verdict lines, rendered
    from the tool results) is released once, before the first unit shown after a sizing result.

    ``results`` and ``options`` are read at every unit, so tool results that arrive during the
    turn are used as soon as they exist."""

    checker: Checker
    results: Callable[[], Sequence[ToolResult]]
    options: Callable[[], Sequence[Option] | None]
    head: Callable[[], str]
    needs_tools: bool
    splitter: Splitter = field(default_factory=Splitter)
    held: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    head_shown: str = ""
    emitted: list[str] = field(default_factory=list)
    """Everything released so far, in order (head and units): what the front ends showed."""

    def feed(self, text: str) -> list[str]:
        """Model text streamed in; the texts that may be shown now (head first)."""
        out: list[str] = []
        for unit in self.splitter.feed(text):
            out += self._unit(unit, final=False)
        return out

    def restart(self) -> None:
        """The model called tools: text it wrote before the call and still held is dropped
        (it is not part of the answer)."""
        self.held.clear()
        self.splitter.flush()

    def finish(self) -> list[str]:
        """The model is done: the last unit and everything still held, checked now."""
        out: list[str] = []
        for unit in self.splitter.flush():
            out += self._unit(unit, final=True)
        if self.held:
            out += self._release()
        return out

    @property
    def prose(self) -> str:
        """What was shown of the model's text (after the head)."""
        return "".join(self.shown)

    def _unit(self, unit: str, final: bool) -> list[str]:
        sized = self.options() is not None
        if not final and not sized and (self.held or self.needs_tools
                                        or stated_fit(unit) is not None):
            self.held.append(unit)
            return []
        self.held.append(unit)
        return self._release()

    def _release(self) -> list[str]:
        out: list[str] = []
        results, options = self.results(), self.options()
        for unit in self.held:
            shown = self.checker.check(unit, results, options)
            if shown is None:
                continue
            if options is not None and not self.head_shown and shown.strip():
                self.head_shown = self.head()
                if self.head_shown:
                    out.append(self.head_shown + "\n\n")
            if not self.shown and not shown.strip():
                continue  # no leading blank units
            self.shown.append(shown if self.shown else shown.lstrip())
            out.append(self.shown[-1])
        self.held.clear()
        self.emitted += out
        return out
