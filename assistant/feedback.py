"""Thumbs up / down on answers, stored in the one store next to the conversations.

The web app and the Slack bot record what a user thought of one answer of one conversation::

    from assistant.feedback import record_feedback, list_feedback
    record_feedback("conv-1", 3, "up", text="Yes: QLoRA of Llama 2 13B fits ...", source="web")
    list_feedback("conv-1")          # every vote, oldest first
    latest_feedback("conv-1")        # the current vote per message (a later vote replaces one)

The store is :mod:`assistant.db`'s: ``$HEADROOM_HOME/headroom.sqlite3`` by default, PostgreSQL
when ``HEADROOM_DB_URL`` says so (every replica then sees every vote). ``path=`` names a SQLite
file instead. The table is append-only: each vote is a new row and a change of mind is a later
row, so nothing is ever updated in place. Every write is one transaction: committed whole or
rolled back whole, so a failed write never loses stored rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import insert, select

from .db import Database, DbOptions, StoreError, database, sqlite_url
from .schema import feedback as table

Rating = Literal["up", "down", "none"]
RATINGS: tuple[str, ...] = ("up", "down", "none")
MAX_TEXT = 20_000
TIMEOUT_S = 10.0


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


def _db(path: Path | None, db: Database | None, timeout_s: float) -> Database:
    """The database to use: ``db``, a SQLite file at ``path``, or the configured store."""
    if db is not None:
        return db
    if path is not None:
        try:
            return database(sqlite_url(Path(path)), DbOptions(statement_timeout_s=timeout_s))
        except StoreError as e:
            raise FeedbackError(f"feedback store: {e}") from None
    from .config import load_settings
    from .memory import open_database

    return open_database(load_settings())


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
                    db: Database | None = None, now: float | None = None,
                    timeout_s: float = TIMEOUT_S) -> Feedback:
    """Store one vote on message ``message_index`` of ``conversation_id`` and return it.

    Args:
        conversation_id: The conversation the message belongs to.
        message_index: Position of the rated message in the conversation (0-based).
        rating: "up", "down" or "none" (a withdrawn vote); ``True``/``False`` and the Gradio
            labels "Like"/"Dislike" are accepted.
        text: The rated message's text (kept so the vote can be read without the conversation).
        source: Which front end recorded it: "web", "slack", ...
        path: A SQLite file to use instead of the configured store.
        db: A :class:`Database` to use instead of the configured store.
        now: Timestamp override (tests).
        timeout_s: How long to wait for another writer before giving up (FeedbackError).
    """
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise FeedbackError("a vote needs a conversation id")
    from .memory import key

    stored_id = key(conversation_id)
    if isinstance(message_index, bool) or not isinstance(message_index, int) or message_index < 0:
        raise FeedbackError(f"message index {message_index!r} is not a non-negative integer")
    value = normalize_rating(rating)
    if message_index > 2**31 - 1:
        raise FeedbackError(f"message index {message_index!r} is too large")
    from .memory import clean_text

    created = time.time() if now is None else float(now)
    row: dict[str, str | int | float] = {"conversation_id": stored_id, "message_index": message_index, "rating": value,
           "text": clean_text(str(text)[:MAX_TEXT]), "source": str(source)[:32],
           "created_at": created}
    store = _db(path, db, timeout_s)
    try:
        with store.transaction() as conn:  # one transaction: all or nothing
            new_id = conn.execute(insert(table).values(**row).returning(table.c.id)).scalar_one()
    except StoreError as e:
        raise FeedbackError(f"feedback store: {e}") from None
    return Feedback(int(new_id), conversation_id, message_index, value, str(row["text"]),
                    str(row["source"]), created)


def list_feedback(conversation_id: str | None = None, *, limit: int | None = None,
                  path: Path | None = None, db: Database | None = None,
                  timeout_s: float = TIMEOUT_S) -> list[Feedback]:
    """Stored votes, oldest first: of one conversation, or all (the newest ``limit`` of them)."""
    from .memory import key

    query = select(table.c.id, table.c.conversation_id, table.c.message_index, table.c.rating,
                   table.c.text, table.c.source, table.c.created_at).order_by(table.c.id.desc())
    if conversation_id is not None:
        query = query.where(table.c.conversation_id == key(conversation_id))
    if limit is not None:
        query = query.limit(max(0, int(limit)))
    store = _db(path, db, timeout_s)
    try:
        with store.transaction(write=False) as conn:
            rows = conn.execute(query).all()
    except StoreError as e:
        raise FeedbackError(f"feedback store: {e}") from None
    out = [Feedback(int(r[0]), str(r[1]), int(r[2]), r[3], str(r[4]), str(r[5]), float(r[6]))
           for r in reversed(rows)]
    if conversation_id is not None:  # a hashed long id: report the id the caller used
        out = [Feedback(f.id, conversation_id, *(
            f.message_index, f.rating, f.text, f.source, f.created_at)) for f in out]
    return out


def latest_feedback(conversation_id: str, *, path: Path | None = None,
                    db: Database | None = None) -> dict[int, Feedback]:
    """The current vote per message index of one conversation (withdrawn votes left out)."""
    current: dict[int, Feedback] = {}
    for fb in list_feedback(conversation_id, path=path, db=db):
        current[fb.message_index] = fb
    return {i: fb for i, fb in current.items() if fb.rating != "none"}
