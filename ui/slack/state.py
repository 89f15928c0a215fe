"""What the bot remembers between events, in SQLite under ``HEADROOM_HOME`` (``slack.sqlite3``).

- threads it has answered in, so that a follow-up in such a thread is answered without a mention;
- each answered turn (question and :class:`Answer`), for the feedback and share buttons, whose
  ``value`` carries only the turn id (Slack limits button values to 2000 characters).
Rows older than ``keep_days`` are dropped on startup.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from assistant.events import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (channel, thread_ts));
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, question TEXT NOT NULL,
    answer_json TEXT NOT NULL, created REAL NOT NULL);
"""


@dataclass(frozen=True)
class Turn:
    """One answered question."""

    id: str
    conversation_id: str
    question: str
    answer: Answer


class SlackState:
    """Thread registry and turn store; safe to use from Bolt's worker threads."""

    def __init__(self, path: Path, keep_days: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)
            cutoff = time.time() - keep_days * 86400
            db.execute("DELETE FROM threads WHERE created < ?", (cutoff,))
            db.execute("DELETE FROM turns WHERE created < ?", (cutoff,))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def _run(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock, closing(self._connect()) as db, db:
            return db.execute(sql, args).fetchall()

    def remember_thread(self, channel: str, thread_ts: str) -> None:
        """Note that the bot takes part in this thread."""
        self._run("INSERT OR IGNORE INTO threads VALUES (?, ?, ?)", (channel, thread_ts, time.time()))

    def in_thread(self, channel: str, thread_ts: str) -> bool:
        """True when the bot has answered in this thread."""
        return bool(self._run("SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?",
                              (channel, thread_ts)))

    def save_turn(self, conversation_id: str, question: str, answer: Answer) -> str:
        """Store a turn; returns its id (for button values)."""
        turn_id = uuid.uuid4().hex[:16]
        self._run("INSERT INTO turns VALUES (?, ?, ?, ?, ?)",
                  (turn_id, conversation_id, question, answer.model_dump_json(), time.time()))
        return turn_id

    def turn(self, turn_id: str) -> Turn | None:
        """The stored turn, or None when unknown or expired."""
        rows = self._run("SELECT conversation_id, question, answer_json FROM turns WHERE id = ?",
                         (turn_id,))
        if not rows:
            return None
        conversation_id, question, answer_json = rows[0]
        return Turn(turn_id, str(conversation_id), str(question),
                    Answer.model_validate_json(str(answer_json)))

    def message_index(self, turn_id: str) -> int:
        """Position of the turn's answer in its conversation (question 0, answer 1, ...)."""
        rows = self._run("SELECT count(*) FROM turns WHERE conversation_id = "
                         "(SELECT conversation_id FROM turns WHERE id = ?) AND rowid < "
                         "(SELECT rowid FROM turns WHERE id = ?)", (turn_id, turn_id))
        earlier = int(str(rows[0][0])) if rows else 0
        return 2 * earlier + 1
