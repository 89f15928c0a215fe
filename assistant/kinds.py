"""What kind of question a message is: fit, why, concept, delta, compare, capacity, plan, other.

Decided from cue words (:mod:`assistant.lexicon`) and from the slots the parser filled, the way
dialogue frameworks keep intent apart from entities. Each kind is answered by its own composer
(:mod:`assistant.offline`): a "why" gets the cause with numbers, not a fit check.
"""

from __future__ import annotations

import re

from . import guide
from . import lexicon as lx
from .ask import Ask, Kind

_LETTERS = re.compile(r"[A-Za-z\u3400-\u9fff]")


def is_noise(text: str) -> bool:
    """Empty, whitespace, emoji-only or punctuation-only messages."""
    return not _LETTERS.search(text)


def classify(ask: Ask, low: str) -> Kind:
    """The kind of one message (before merging the conversation)."""
    if is_noise(low) or lx.KIND_GREETING.search(low) or lx.KIND_OFFTOPIC.search(low):
        return "other"
    sized = ask.has_model or ask.has_gpu or bool(ask.unresolved_model or ask.unresolved_gpu)
    if not sized and not lx.DOMAIN.search(low) and not ask.mentions():
        return "other"
    several = len(ask.models) > 1 or len(ask.gpus) > 1 or len(ask.quants) > 1 or \
        len(set(ask.zero_values)) > 1
    if lx.KIND_WHY.search(low):
        return "why"
    if lx.KIND_PLAN.search(low) and not lx.KIND_CAPACITY.search(low):
        return "plan"
    if lx.KIND_DELTA.search(low):
        return "delta"
    if lx.KIND_COMPARE.search(low) and (several or len(ask.workloads) > 1 or not sized):
        return "compare"
    if lx.KIND_CAPACITY.search(low):
        return "capacity"
    if several and re.search(r"\bor\b|还是|和|与|跟", low) and not ask.followup:
        return "compare"
    if not sized and ask.workloads and lx.NUMBER.search(low) and not several:
        return "fit"  # "how much VRAM do I need for fine-tuning?": a number, the model is missing
    if lx.KIND_CONCEPT.search(low) and not (ask.has_model and lx.NUMBER.search(low)):
        if not sized or not (lx.FIT.search(low) or lx.NUMBER.search(low)):
            return "concept"
    if sized:
        return "fit"
    if lx.FIT.search(low) or lx.NUMBER.search(low):
        return "fit"
    if ask.mentions() or ask.negated:
        return "fit"  # a bare follow-up ("and with 8k?"): the conversation says what it is about
    return "concept" if guide.match(low) else "other"
