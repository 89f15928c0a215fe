"""Retrieval evaluation over the labeled question set (``knowledge/eval/questions.jsonl``).

Each line: ``id``, ``lang``, ``question``, ``source`` (a guide page) and ``section`` (its ``##``
heading, or the page title for the overview), plus optional ``also`` alternatives where two
sections answer equally. A retrieved passage counts as a hit when it is the labeled section in
either language (the en and zh pages share section keys). Used by ``bench/kb_retrieval.py`` and
the retrieval-quality test.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .chunking import chunk_markdown
from .retrieval import Passage

QUESTIONS = Path(__file__).parent / "eval" / "questions.jsonl"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Question:
    """A labeled question and the section keys that answer it."""

    id: str
    lang: str
    text: str
    keys: frozenset[str]


@dataclass(frozen=True)
class Metrics:
    """Recall@1, recall@3, MRR (over the top 10) and median latency of one configuration."""

    n: int
    recall_at_1: float
    recall_at_3: float
    mrr: float
    median_ms: float
    misses: tuple[str, ...]


@cache
def _section_keys(source: str) -> dict[str, str]:
    path = ROOT / source
    chunks = chunk_markdown(path.read_text("utf-8"), source, lang=path.parent.name)
    keys: dict[str, str] = {}
    for c in chunks:
        heading = c.section_path[1] if len(c.section_path) > 1 else c.title
        keys.setdefault(heading, c.section_key)
    return keys


def section_key(source: str, section: str) -> str:
    """The key of ``section`` in the guide page ``source``; raises ``KeyError`` if absent."""
    keys = _section_keys(source)
    if section not in keys:
        raise KeyError(f"{source} has no section {section!r}; sections: {sorted(keys)}")
    return keys[section]


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """The labeled set, with every label resolved (raises if a label names no section)."""
    out = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        labels = [(row["source"], row["section"])]
        labels += [(a["source"], a["section"]) for a in row.get("also", [])]
        keys = frozenset(section_key(src, sec) for src, sec in labels)
        out.append(Question(row["id"], row["lang"], row["question"], keys))
    return out


def evaluate(questions: Sequence[Question],
             search: Callable[[str], list[Passage]]) -> Metrics:
    """Run ``search`` (returning at least 10 passages) on every question and score it."""
    hits1 = hits3 = 0
    rr = 0.0
    times = []
    misses = []
    for q in questions:
        start = time.perf_counter()
        passages = search(q.text)
        times.append((time.perf_counter() - start) * 1000)
        rank = next((i for i, p in enumerate(passages[:10], 1) if p.section_key in q.keys), 0)
        hits1 += rank == 1
        hits3 += 0 < rank <= 3
        rr += 1.0 / rank if rank else 0.0
        if not 0 < rank <= 3:
            misses.append(q.id)
    n = len(questions)
    return Metrics(n, hits1 / n, hits3 / n, rr / n, statistics.median(times), tuple(misses))
