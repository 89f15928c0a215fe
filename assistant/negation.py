"""Negation with scope, English and Chinese (NegEx: Chapman et al. 2001).

``find(low)`` returns the switch mentions a trigger negates ("without quantization", "no offload",
"flash attention off", "不用DeepSpeed也不用CPU offload", "unquantized"); ``mask`` blanks them so
that the positive rules of :mod:`assistant.parse` never read a negated switch as on; ``off_values``
says what each negated switch becomes (quantization ``none``, offload ``none``, ZeRO 0, ...).
Triggers, pseudo-triggers, terminations and switches live in ``data/negation.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_WORD = re.compile(r"[a-z0-9][\w.+/-]*|[\u3400-\u9fff]", re.ASCII)


@dataclass(frozen=True)
class Negated:
    """One negated switch mention: which switch, where, and the words that negated it."""

    switch: str
    start: int
    end: int
    trigger: str


@dataclass(frozen=True)
class _Lexicon:
    window_words: int
    window_chars: int
    preceding: tuple[re.Pattern[str], ...]
    following: tuple[re.Pattern[str], ...]
    pseudo: tuple[re.Pattern[str], ...]
    termination: re.Pattern[str]
    mentions: dict[str, tuple[re.Pattern[str], ...]]
    self_negating: dict[str, tuple[re.Pattern[str], ...]]
    off: dict[str, dict[str, Any]]


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.ASCII) for p in patterns)


@cache
def lexicon() -> _Lexicon:
    """The negation data, compiled once."""
    raw = tomllib.loads(resources.files("assistant").joinpath("data/negation.toml")
                        .read_text("utf-8"))
    switches = raw["switch"]
    return _Lexicon(
        window_words=int(raw["window_words"]), window_chars=int(raw["window_chars"]),
        preceding=_compile(raw["preceding"]), following=_compile(raw["following"]),
        pseudo=_compile(raw["pseudo"]),
        termination=re.compile("|".join(f"(?:{t})" for t in raw["termination"]), re.ASCII),
        mentions={name: _compile(s["mention"]) for name, s in switches.items()},
        self_negating={name: _compile(p) for name, p in raw.get("self_negating", {}).items()},
        off={name: dict(s["off"]) for name, s in switches.items()},
    )


def switches() -> list[str]:
    """Every switch the parser can negate."""
    return list(lexicon().mentions)


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and a[1] > s for s, e in spans)


def _scope_end(low: str, start: int, lex: _Lexicon) -> int:
    term = lex.termination.search(low, start)
    limit = term.start() if term else len(low)
    words = list(_WORD.finditer(low, start, limit))
    latin = [w for w in words if w.group()[0].isascii()]
    by_words = latin[lex.window_words - 1].end() if len(latin) >= lex.window_words else limit
    by_chars = start + lex.window_chars
    return min(limit, max(by_words, by_chars))


def _mentions(low: str, lex: _Lexicon) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    for name, patterns in lex.mentions.items():
        for p in patterns:
            found += [(name, m.start(), m.end()) for m in p.finditer(low) if m.end() > m.start()]
    return found


def find(low: str) -> list[Negated]:
    """Negated switch mentions of a lower-cased, normalised question."""
    lex = lexicon()
    pseudo = [(m.start(), m.end()) for p in lex.pseudo for m in p.finditer(low)]
    triggers = [m for p in lex.preceding for m in p.finditer(low)
                if not _overlaps((m.start(), m.end()), pseudo)]
    mentions = _mentions(low, lex)
    out: dict[tuple[str, int], Negated] = {}
    for t in triggers:
        end = _scope_end(low, t.end(), lex)
        for name, s, e in mentions:
            if t.end() <= s < end or (s < t.start() < e):  # "un" inside a word is self_negating
                out.setdefault((name, s), Negated(name, s, e, t.group()))
    for name, s, e in mentions:
        rest = low[e:e + 40]
        for p in lex.following:
            if m := p.search(rest):
                if not _overlaps((e + m.start(), e + m.end()), pseudo):
                    out.setdefault((name, s), Negated(name, s, e, m.group().strip()))
    for name, patterns in lex.self_negating.items():
        for p in patterns:
            for m in p.finditer(low):
                out.setdefault((name, m.start()), Negated(name, m.start(), m.end(), m.group()))
    return sorted(out.values(), key=lambda n: n.start)


def mask(low: str, negated: list[Negated]) -> str:
    """``low`` with every negated mention blanked (same length, so spans stay valid)."""
    chars = list(low)
    for n in negated:
        chars[n.start:n.end] = " " * (n.end - n.start)
    return "".join(chars)


def off_values(negated: list[Negated]) -> dict[str, Any]:
    """What the negated switches become: ``{"quant": "none", "offload": "none", ...}``;
    ``workload_off`` lists the workloads the question ruled out (LoRA, QLoRA, serving)."""
    off = lexicon().off
    out: dict[str, Any] = {}
    ruled_out: list[str] = []
    for n in negated:
        for key, value in off.get(n.switch, {}).items():
            if key == "workload_off":
                ruled_out.append(str(value))
            else:
                out.setdefault(key, value)
    if ruled_out:
        out["workload_off"] = sorted(set(ruled_out))
    return out


def evidence(low: str, negated: list[Negated]) -> dict[str, str]:
    """The words that negated each switch ("without quantization"), for the understood line."""
    out: dict[str, str] = {}
    for n in negated:
        words = low[n.start:n.end]
        out.setdefault(n.switch, words if n.trigger in words else f"{n.trigger} {words}".strip())
    return out
