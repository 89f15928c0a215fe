"""The answer evaluation: run every question of ``questions.jsonl`` and check the expectations.

Each line is ``{"id", "question", "lang", "expect": {...}, "conversation"?: "id"}``; questions
sharing a ``conversation`` run in order in one conversation (follow-ups). Expectations, all of
which must hold: ``verdict`` (yes / no / need_more_info), ``fits`` ({workload: bool} against the
options), ``number_gib`` ([low, high]: a figure of the answer, or a GiB figure in its first
paragraph), ``source_topic`` (a string, or a list of which one must appear in a cited path).
Run with ``headroom bench answers`` (``--backend llm`` against the configured endpoint).
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..events import Answer
from ..sizing import memory_figures

Asker = Callable[[str, str], Answer]


@dataclass
class Outcome:
    """One question: what was expected, what came back, and what went wrong."""

    item: dict[str, Any]
    answer: Answer | None
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Report:
    """All outcomes, with accuracy and latency."""

    outcomes: list[Outcome]
    backend: str

    @property
    def accuracy(self) -> float:
        return sum(o.ok for o in self.outcomes) / max(len(self.outcomes), 1)

    def latency_ms(self, q: float = 0.5) -> float:
        """Median (``q=0.5``) or another quantile of the per-answer time, in ms."""
        times = sorted(o.seconds * 1000 for o in self.outcomes)
        if not times:
            return 0.0
        if q == 0.5:
            return statistics.median(times)
        return times[min(len(times) - 1, int(q * len(times)))]

    def text(self, verbose: bool = False) -> str:
        """A readable summary: accuracy by kind and language, latency, failures."""
        lines = [f"answers ({self.backend}): {sum(o.ok for o in self.outcomes)}/"
                 f"{len(self.outcomes)} right ({100 * self.accuracy:.1f}%)",
                 f"latency per answer: median {self.latency_ms():.1f} ms, "
                 f"p90 {self.latency_ms(0.9):.1f} ms, max {self.latency_ms(1.0):.1f} ms", ""]
        groups: dict[str, list[Outcome]] = {}
        for o in self.outcomes:
            groups.setdefault(f"{kind(o.item)} ({o.item.get('lang', 'en')})", []).append(o)
        for name in sorted(groups):
            g = groups[name]
            lines.append(f"  {name:28s} {sum(o.ok for o in g):3d}/{len(g):<3d}")
        bad = [o for o in self.outcomes if not o.ok or verbose]
        if bad:
            lines += ["", "failures:" if not verbose else "all:"]
        for o in bad:
            mark = "ok  " if o.ok else "FAIL"
            lines.append(f"  {mark} {o.item['id']}: {o.item['question']}")
            lines += [f"         - {p}" for p in o.problems]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "total": len(self.outcomes),
                "right": sum(o.ok for o in self.outcomes), "accuracy": round(self.accuracy, 4),
                "median_ms": round(self.latency_ms(), 2), "p90_ms": round(self.latency_ms(0.9), 2),
                "failures": [{"id": o.item["id"], "question": o.item["question"],
                              "problems": o.problems} for o in self.outcomes if not o.ok]}


def kind(item: dict[str, Any]) -> str:
    """yes/no, need-more-info, number or explanation."""
    expect = item["expect"]
    if "number_gib" in expect:
        return "number"
    if expect.get("verdict") == "need_more_info":
        return "need-more-info"
    if "verdict" in expect:
        return "yes/no"
    return "explanation"


def load_questions() -> list[dict[str, Any]]:
    """The evaluation set shipped with the package."""
    text = resources.files("assistant.eval").joinpath("questions.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check(item: dict[str, Any], answer: Answer) -> list[str]:
    """What is wrong with ``answer`` for ``item`` (empty when right)."""
    expect, problems = item["expect"], []
    # this set predates "borderline": a yes/no written then is met by borderline (margin < 8%)
    ok_verdict = answer.verdict == expect.get("verdict") or (
        answer.verdict == "borderline" and expect.get("verdict") in ("yes", "no"))
    if "verdict" in expect and not ok_verdict:
        problems.append(f"verdict {answer.verdict!r}, expected {expect['verdict']!r}")
    options = {o.workload: o for o in answer.options}
    for workload, fits in expect.get("fits", {}).items():
        if workload not in options:
            problems.append(f"no option for {workload}")
        elif options[workload].fits != fits:
            problems.append(f"{workload} fits={options[workload].fits}, expected {fits}")
    if "number_gib" in expect:
        low, high = expect["number_gib"]
        values = [f.gib for f in answer.figures]
        values += memory_figures(answer.answer.split("\n\n")[0])
        if not any(low <= v <= high for v in values):
            problems.append(f"no figure in [{low}, {high}] GiB (got {values[:4]})")
    topic = expect.get("source_topic")
    if topic:
        topics = [topic] if isinstance(topic, str) else topic
        paths = [s.path for s in answer.sources]
        if not any(t in p for t in topics for p in paths):
            problems.append(f"no source about {'/'.join(topics)} (cited {paths})")
    return problems


def run(ask: Asker, items: list[dict[str, Any]] | None = None, backend: str = "offline",
        prefix: str = "") -> Report:
    """Ask every question (fresh conversation unless it names one) and check the answers."""
    prefix = prefix or f"eval-{uuid.uuid4().hex[:8]}"
    outcomes = []
    for item in items if items is not None else load_questions():
        conversation = f"{prefix}:{item.get('conversation') or item['id']}"
        start = time.perf_counter()
        try:
            answer: Answer | None = ask(item["question"], conversation)
            problems = check(item, answer) if answer else ["no answer"]
        except Exception as e:  # an evaluation records crashes as failures and goes on
            answer, problems = None, [f"crashed: {type(e).__name__}: {e}"]
        outcomes.append(Outcome(item, answer, time.perf_counter() - start, problems))
    return Report(outcomes, backend)
