"""The blind evaluation set (``assistant/eval/blind/``): load, ask, check, report by half.

The set was written by authors who never saw the parser or the composer (see ``SCHEMA.md``);
``*-tune`` files may be read while improving the assistant, ``*-holdout`` files only scored.
``headroom bench answers`` prints both halves, per language and per question kind; failures
are listed for the tune half only, so the holdout half stays untouched.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from importlib import resources
from typing import Any

from tools.estimator.catalog import gpu_index, gpu_key

from ..events import Answer
from ..sizing import memory_figures
from .runner import Outcome  # one turn: item, answer, seconds, problems

Asker = Callable[[str, str], Answer]
HALVES = ("tune", "holdout")
# kinds that are answered alike (a capacity question with a verdict is also a fit check)
_COMPATIBLE = [{"fit", "capacity", "plan"}, {"why", "concept"}, {"delta", "compare"}]




def load(half: str, lang: str | None = None) -> list[dict[str, Any]]:
    """The items of one half (``tune`` or ``holdout``), both languages unless ``lang``."""
    folder = resources.files("assistant.eval").joinpath("blind")
    items: list[dict[str, Any]] = []
    for language in ("en", "zh") if lang is None else (lang,):
        path = folder.joinpath(f"{language}-{half}.jsonl")
        if not path.is_file():
            continue
        items += [json.loads(line) for line in path.read_text("utf-8").splitlines()
                  if line.strip()]
    return items


def _gpu_ok(expected: str, answer: Answer) -> bool:
    got = str(answer.understood.get("gpu") or "")
    name = str(answer.understood.get("gpu_name") or "")
    if expected == got:
        return True
    if gpu_key(expected) in gpu_index() and gpu_index()[gpu_key(expected)].id == expected:
        return False  # a catalog id must match exactly
    flat = re.sub(r"[\s-]", "", expected.lower())
    return flat in re.sub(r"[\s-]", "", f"{got} {name}".lower())


def _slot_ok(slot: str, expected: Any, answer: Answer) -> bool:
    got = answer.understood.get(slot)
    if slot == "gpu":
        return _gpu_ok(str(expected), answer)
    if slot == "workload" and isinstance(got, list):
        return expected in got
    if slot == "model" and isinstance(expected, str) and re.fullmatch(r"[\d.]+B", expected):
        return str(got).upper() == expected.upper()
    if isinstance(expected, float) or isinstance(got, float):
        return got is not None and abs(float(got) - float(expected)) < 0.51
    return bool(got == expected)


def check(item: dict[str, Any], answer: Answer) -> list[str]:
    """What is wrong with ``answer`` for ``item`` (empty when right)."""
    expect = item["expect"]
    problems = _check_kind_verdict(item, answer)
    problems += _check_slots(expect, answer)
    problems += _check_numbers(expect, answer)
    problems += _check_sources(expect, answer)
    problems += _check_text(item, answer)
    return problems


def _check_kind_verdict(item: dict[str, Any], answer: Answer) -> list[str]:
    expect, problems = item["expect"], []
    kind = item.get("kind")
    if kind and answer.kind != kind and not any(
            {kind, answer.kind} <= group for group in _COMPATIBLE):
        problems.append(f"answered as {answer.kind!r}, asked {kind!r}")
    allowed = expect.get("verdict_any") or ([expect["verdict"]] if "verdict" in expect else [])
    if allowed and answer.verdict not in allowed:
        problems.append(f"verdict {answer.verdict!r}, expected {'/'.join(allowed)}")
    return problems


def _check_slots(expect: dict[str, Any], answer: Answer) -> list[str]:
    problems = []
    for slot, value in expect.get("understood", {}).items():
        if not _slot_ok(slot, value, answer):
            problems.append(f"understood {slot}={answer.understood.get(slot)!r}, expected {value!r}")
    for slot, values in expect.get("not_understood", {}).items():
        if answer.understood.get(slot) in values:
            problems.append(f"reported negated {slot}={answer.understood.get(slot)!r}")
    return problems


def _check_numbers(expect: dict[str, Any], answer: Answer) -> list[str]:
    problems = []
    if "number_gib" in expect:
        low, high = expect["number_gib"]
        values = [f.gib for f in answer.figures] + memory_figures(answer.answer)
        if not any(low <= v <= high for v in values):
            problems.append(f"no figure in [{low}, {high}] GiB (got {values[:6]})")
    if "number" in expect:
        name, (low, high) = expect["number"]["name"], expect["number"]["range"]
        alias = {"seq_len": "tokens"}.get(name, name)
        got = answer.counts.get(name, answer.counts.get(alias))
        if got is None or not low <= got <= high:
            problems.append(f"{name}={got}, expected in [{low}, {high}]")
    return problems


def _check_sources(expect: dict[str, Any], answer: Answer) -> list[str]:
    problems = []
    topic = expect.get("source_topic")
    if topic:
        topics = [topic] if isinstance(topic, str) else topic
        paths = [s.path for s in answer.sources]
        if not any(re.search(rf"(?:^|/){re.escape(t)}\.md$", p) for t in topics for p in paths):
            problems.append(f"no source about {'/'.join(topics)} (cited {paths})")
        section = expect.get("source_section")
        if section and not any(section.lower() in s.section.lower() for s in answer.sources):
            problems.append(f"no cited section titled like {section!r}")
    if expect.get("no_sources") and answer.sources:
        problems.append(f"cited {[s.path for s in answer.sources]} (expected none)")
    return problems


def _check_text(item: dict[str, Any], answer: Answer) -> list[str]:
    expect, problems = item["expect"], []
    low_text = answer.answer.lower()
    for group in expect.get("mentions", []):
        if not any(str(w).lower() in low_text for w in group):
            problems.append(f"mentions none of {group}")
    asks = expect.get("asks_for")
    if asks and not any(asks in m for m in answer.missing):
        problems.append(f"does not ask for {asks} (missing={answer.missing})")
    lang = expect.get("lang", item.get("lang", "en"))
    if answer.lang != lang:
        problems.append(f"answered in {answer.lang}, asked in {lang}")
    if item.get("kind") != "other" and not answer.understood_line_first():
        problems.append("the answer does not start with the understood line")
    return problems


def run(ask: Asker, items: list[dict[str, Any]], prefix: str = "") -> list[Outcome]:
    """Ask every turn (conversations in order, each in its own conversation id)."""
    prefix = prefix or f"blind-{uuid.uuid4().hex[:8]}"
    ordered = sorted(items, key=lambda i: (i.get("conversation") or i["id"], i.get("turn", 1)))
    outcomes = []
    for item in ordered:
        conversation = f"{prefix}:{item.get('conversation') or item['id']}"
        start = time.perf_counter()
        try:
            answer: Answer | None = ask(item["question"], conversation)
            problems = check(item, answer) if answer else ["no answer"]
        except Exception as e:  # an evaluation records crashes as failures and goes on
            answer, problems = None, [f"crashed: {type(e).__name__}: {e}"]
        outcomes.append(Outcome(item, answer, time.perf_counter() - start, problems))
    return outcomes


def _rate(outcomes: list[Outcome]) -> str:
    right = sum(o.ok for o in outcomes)
    return f"{right}/{len(outcomes)} ({100 * right / max(len(outcomes), 1):.1f}%)"


def table(results: dict[str, list[Outcome]]) -> str:
    """Accuracy per half, per language and per kind."""
    lines = [f"{'':12s}" + "".join(f"{h:>22s}" for h in results)]
    rows: list[tuple[str, Callable[[Outcome], bool]]] = [("all", lambda o: True)]
    rows += [(lang, (lambda lg: lambda o: o.item.get("lang") == lg)(lang)) for lang in ("en", "zh")]
    kinds = sorted({o.item.get("kind", "?") for outs in results.values() for o in outs})
    rows += [(f"  {k}", (lambda kk: lambda o: o.item.get("kind") == kk)(k)) for k in kinds]
    for name, keep in rows:
        cells = [_rate([o for o in outs if keep(o)]) for outs in results.values()]
        lines.append(f"{name:12s}" + "".join(f"{c:>22s}" for c in cells))
    return "\n".join(lines)


def failures(outcomes: list[Outcome]) -> str:
    """The failed turns with their problems (print for the tune half only)."""
    lines = []
    for o in outcomes:
        if o.ok:
            continue
        q = o.item["question"].replace("\n", " ⏎ ")
        lines.append(f"FAIL {o.item['id']} [{o.item.get('kind')}] {q[:160]}")
        lines += [f"     - {p}" for p in o.problems]
    return "\n".join(lines)
