"""Thumbs up / down on answers, stored in SQLite next to the conversations.

The web app and the Slack bot record what a user thought of one answer of one conversation::

    from assistant.feedback import record_feedback, list_feedback
    record_feedback("conv-1", 3, "up", text="Yes: QLoRA of Llama 2 13B fits ...", source="web")
    list_feedback("conv-1")          # every vote, oldest first
    latest_feedback("conv-1")        # the current vote per message (a later vote replaces one)

The database is ``$HEADROOM_HOME/feedback.sqlite3`` (``~/.local/share/headroom`` by default; see
:mod:`assistant.config`). The table is append-only: each vote is a new row and a change of mind
is a later row, so nothing is ever updated in place. Every write is one SQLite transaction in
WAL mode: it is committed whole or rolled back whole, so a failed write never loses stored rows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Rating = Literal["up", "down", "none"]
RATINGS: tuple[str, ...] = ("up", "down", "none")
MAX_TEXT = 20_000
DB_NAME = "feedback.sqlite3"
TIMEOUT_S = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL CHECK (length(conversation_id) > 0),
    message_index INTEGER NOT NULL CHECK (message_index >= 0),
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down', 'none')),
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_conversation ON feedback (conversation_id, message_index);
"""


class FeedbackError(ValueError):
    """A vote that cannot be stored; the message names the bad value."""


@dataclass(frozen=True)
class Feedback:
    """One stored vote."""

    id: int
    conversation_id: str
    message_index: int
    rating: Rating
    text: str
    source: str
    created_at: float
    """Unix time in seconds."""


def default_path() -> Path:
    """``$HEADROOM_HOME/feedback.sqlite3``."""
    from .config import load_settings

    return load_settings().home / DB_NAME


@contextmanager
def _connect(path: Path | None, timeout_s: float) -> Iterator[sqlite3.Connection]:
    """An open connection with the schema in place; SQLite errors become FeedbackError."""
    db = Path(path) if path is not None else default_path()
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(db, timeout=timeout_s)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)  # idempotent; runs in its own transaction
            yield conn
    except (sqlite3.Error, OSError) as e:
        raise FeedbackError(f"feedback store {db}: {e}") from e


def normalize_rating(rating: str | bool | None) -> Rating:
    """``True``/"like"/"up"/"👍" -> "up"; ``False``/"dislike"/"down" -> "down"; ``None`` -> "none"."""
    if rating is None:
        return "none"
    if isinstance(rating, bool):
        return "up" if rating else "down"
    value = rating.strip().lower()
    if value in ("up", "like", "liked", "+1", "thumbsup", "👍", "good"):
        return "up"
    if value in ("down", "dislike", "disliked", "-1", "thumbsdown", "👎", "bad"):
        return "down"
    if value in ("none", "", "clear", "unlike"):
        return "none"
    raise FeedbackError(f"unknown rating {rating!r}: use 'up', 'down' or 'none'")


def record_feedback(conversation_id: str, message_index: int, rating: str | bool | None, *,
                    text: str = "", source: str = "web", path: Path | None = None,
                    now: float | None = None, timeout_s: float = TIMEOUT_S) -> Feedback:
    """Store one vote on message ``message_index`` of ``conversation_id`` and return it.

    Args:
        conversation_id: The conversation the message belongs to.
        message_index: Position of the rated message in the conversation (0-based).
        rating: "up", "down" or "none" (a withdrawn vote); ``True``/``False`` and the Gradio
            labels "Like"/"Dislike" are accepted.
        text: The rated message's text (kept so the vote can be read without the conversation).
        source: Which front end recorded it: "web", "slack", ...
        path: The database file (default ``$HEADROOM_HOME/feedback.sqlite3``).
        now: Timestamp override (tests).
        timeout_s: How long to wait for another writer before giving up (FeedbackError).
    """
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise FeedbackError("a vote needs a conversation id")
    if isinstance(message_index, bool) or not isinstance(message_index, int) or message_index < 0:
        raise FeedbackError(f"message index {message_index!r} is not a non-negative integer")
    value = normalize_rating(rating)
    row = (conversation_id, message_index, value, str(text)[:MAX_TEXT], str(source),
           time.time() if now is None else float(now))
    with _connect(path, timeout_s) as conn, conn:  # one transaction: all or nothing
        cur = conn.execute(
            "INSERT INTO feedback (conversation_id, message_index, rating, text, source, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", row)
        new_id = int(cur.lastrowid or 0)
    return Feedback(new_id, conversation_id, message_index, value, row[3], source, row[5])


def list_feedback(conversation_id: str | None = None, *, limit: int | None = None,
                  path: Path | None = None, timeout_s: float = TIMEOUT_S) -> list[Feedback]:
    """Stored votes, oldest first: of one conversation, or all (the newest ``limit`` of them)."""
    query = "SELECT id, conversation_id, message_index, rating, text, source, created_at FROM feedback"
    args: list[object] = []
    if conversation_id is not None:
        query += " WHERE conversation_id = ?"
        args.append(conversation_id)
    query += " ORDER BY id DESC"
    if limit is not None:
        query += " LIMIT ?"
        args.append(int(limit))
    with _connect(path, timeout_s) as conn:
        rows = conn.execute(query, args).fetchall()
    return [Feedback(*r) for r in reversed(rows)]


def latest_feedback(conversation_id: str, *, path: Path | None = None) -> dict[int, Feedback]:
    """The current vote per message index of one conversation (withdrawn votes left out)."""
    current: dict[int, Feedback] = {}
    for fb in list_feedback(conversation_id, path=path):
        current[fb.message_index] = fb
    return {i: fb for i, fb in current.items() if fb.rating != "none"}
