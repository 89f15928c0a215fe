"""Output and input guards: what never leaves the assistant, and what it refuses to take in.

- The system prompt (``instructions.md``) and configured secrets never appear in an answer: an
  LLM reply that quotes a line of the instructions or contains a secret is replaced by the
  offline answer (prompt injection in user text or in ingested documents cannot change tool
  results, which come from the estimator, and cannot leak the prompt this way).
- Messages longer than ``MAX_MESSAGE_CHARS`` are refused with a clear message (a pasted
  ``nvidia-smi`` table of 8 GPUs is about 5,000 characters).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MAX_MESSAGE_CHARS = 40_000
MIN_QUOTE_CHARS = 40
MIN_ECHO_CHARS = 30


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@cache
def _instruction_lines() -> tuple[str, ...]:
    text = resources.files("assistant").joinpath("instructions.md").read_text("utf-8")
    parts = re.split(r"(?<=[.!?:])\s+|\n+", text)
    return tuple(n for n in (_norm(p.strip("-*# ")) for p in parts) if len(n) >= MIN_QUOTE_CHARS)


def quotes_instructions(text: str) -> bool:
    """True when ``text`` contains a sentence of the system prompt verbatim."""
    flat = _norm(text)
    return any(line in flat for line in _instruction_lines())


@cache
def _instruction_text() -> str:
    return _norm(re.sub(r"[*`#]", "", resources.files("assistant").joinpath(
        "instructions.md").read_text("utf-8")))


def echoes_instructions(fragment: str) -> bool:
    """True when ``fragment`` (one streamed sentence, possibly a piece of a line of the system
    prompt) is a verbatim piece of the system prompt of ``MIN_ECHO_CHARS`` or more."""
    flat = _norm(re.sub(r"[*`#]", "", fragment)).strip(" -0123456789.")
    return len(flat) >= MIN_ECHO_CHARS and flat in _instruction_text()


def redact(text: str, secrets: list[str | None]) -> str:
    """``text`` with every configured secret of 8+ characters replaced by ``[redacted]``."""
    for s in secrets:
        if s and len(s) >= 8:
            text = text.replace(s, "[redacted]")
    return text


def contains_secret(text: str, secrets: list[str | None]) -> bool:
    """True when any configured secret (API keys, tokens) of 8+ characters appears in ``text``."""
    return any(s and len(s) >= 8 and s in text for s in secrets)


def too_long(message: str) -> str | None:
    """A one-line refusal for oversized messages, else None."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return None
    return (f"That message is {len(message):,} characters; the limit is {MAX_MESSAGE_CHARS:,}. "
            "Send the question and only the relevant part of any nvidia-smi output.")


def too_long_text(message: str, lang: str) -> str:
    """The oversized-message refusal in the user's language."""
    if lang == "zh":
        return (f"这条消息有 {len(message):,} 个字符，上限是 {MAX_MESSAGE_CHARS:,}。请只发问题和 "
                "nvidia-smi 输出中相关的部分。")
    return (f"That message is {len(message):,} characters; the limit is {MAX_MESSAGE_CHARS:,}. "
            "Send the question and only the relevant part of any nvidia-smi output.")
