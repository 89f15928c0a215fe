"""What the bot remembers between events, in the shared store (:mod:`assistant.db`).

Every replica pointed at the same database (``HEADROOM_DB_URL``) sees the same:

- threads the bot has answered in, so that a follow-up in such a thread is answered without a
  mention by whichever replica Slack delivers it to;
- each answered turn (question and :class:`Answer`), for the feedback and share buttons, whose
  ``value`` carries only the turn id (Slack limits button values to 2000 characters);
- claims: :meth:`SlackState.claim` inserts a key (an ``event_id``, a message's channel and ts)
  and says whether this caller inserted it, atomically (``INSERT ... ON CONFLICT DO NOTHING``),
  so a retried or duplicated delivery is answered exactly once across replicas.

Rows older than ``keep_days`` (claims: ``claim_ttl_s``) are dropped on startup. When the store
cannot be reached the bot still answers: threads and turns are not remembered (logged), and
claims fall back to this process's memory.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assistant.db import Database, StoreError
from assistant.events import Answer
from assistant.memory import clean_text, key
from assistant.schema import claims, slack_threads, slack_turns

from .dedupe import SeenCache

log = logging.getLogger("headroom.slack")


@dataclass(frozen=True)
class Turn:
    """One answered question."""

    id: str
    conversation_id: str
    question: str
    answer: Answer


class SlackState:
    """Thread registry, turn store and event claims; safe to use from Bolt's worker threads."""

    def __init__(self, db: Database, keep_days: float = 30.0, claim_ttl_s: float = 86_400.0,
                 local: SeenCache | None = None) -> None:
        self.db = db
        self.local = local or SeenCache(ttl_s=min(claim_ttl_s, 3600.0))
        try:
            with db.transaction() as conn:
                cutoff = time.time() - keep_days * 86400
                conn.execute(delete(slack_threads).where(slack_threads.c.created < cutoff))
                conn.execute(delete(slack_turns).where(slack_turns.c.created < cutoff))
                conn.execute(delete(claims).where(claims.c.created < time.time() - claim_ttl_s))
        except StoreError as e:
            log.warning("Slack state not pruned: %s", e)

    def _insert(self) -> Any:
        return pg_insert if self.db.dialect == "postgresql" else sqlite_insert

    def claim(self, name: str) -> bool:
        """True for exactly one caller per ``name`` across every replica on this store."""
        stmt = self._insert()(claims).values(key=key(name), created=time.time())
        try:
            with self.db.transaction() as conn:
                won = conn.execute(stmt.on_conflict_do_nothing(index_elements=[claims.c.key])
                                   .returning(claims.c.key)).first()
                return won is not None
        except StoreError as e:
            log.warning("claim %s in this process only (store: %s)", name, e)
            return self.local.first(name)

    first = claim  # the :class:`ui.slack.dedupe.Seen` protocol

    def remember_thread(self, channel: str, thread_ts: str) -> None:
        """Note that the bot takes part in this thread."""
        stmt = self._insert()(slack_threads).values(channel=channel[:64], thread_ts=thread_ts[:64],
                                                    created=time.time())
        try:
            with self.db.transaction() as conn:
                conn.execute(stmt.on_conflict_do_nothing())
        except StoreError as e:
            log.warning("thread %s/%s not remembered: %s", channel, thread_ts, e)

    def in_thread(self, channel: str, thread_ts: str) -> bool:
        """True when the bot has answered in this thread (False when the store is down)."""
        query = select(slack_threads.c.created).where(slack_threads.c.channel == channel[:64],
                                                      slack_threads.c.thread_ts == thread_ts[:64])
        try:
            with self.db.transaction(write=False) as conn:
                return conn.execute(query).first() is not None
        except StoreError as e:
            log.warning("thread %s/%s unknown, store unavailable: %s", channel, thread_ts, e)
            return False

    def save_turn(self, conversation_id: str, question: str, answer: Answer) -> str:
        """Store a turn; returns its id (for button values; the buttons say "expired" when the
        store could not keep it)."""
        turn_id = uuid.uuid4().hex[:16]
        try:
            with self.db.transaction() as conn:
                conn.execute(slack_turns.insert().values(
                    id=turn_id, conversation_id=key(conversation_id),
                    question=clean_text(question), answer_json=answer.model_dump_json(),
                    created=time.time()))
        except StoreError as e:
            log.warning("turn of %s not stored: %s", conversation_id, e)
        return turn_id

    def turn(self, turn_id: str) -> Turn | None:
        """The stored turn, or None when unknown or expired."""
        query = select(slack_turns.c.conversation_id, slack_turns.c.question,
                       slack_turns.c.answer_json).where(slack_turns.c.id == turn_id[:32])
        with self.db.transaction(write=False) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Turn(turn_id, str(row[0]), str(row[1]), Answer.model_validate_json(str(row[2])))

    def message_index(self, turn_id: str) -> int:
        """Position of the turn's answer in its conversation (question 0, answer 1, ...)."""
        mine = select(slack_turns.c.conversation_id, slack_turns.c.seq).where(
            slack_turns.c.id == turn_id[:32]).subquery()
        query = select(func.count()).select_from(slack_turns).join(
            mine, slack_turns.c.conversation_id == mine.c.conversation_id).where(
            slack_turns.c.seq < mine.c.seq)
        with self.db.transaction(write=False) as conn:
            earlier = int(conn.execute(query).scalar() or 0)
        return 2 * earlier + 1
