"""Conversation memory that survives a restart: turns and the understood question per id.

SQLite by default (``$HEADROOM_HOME/conversations.sqlite3``, WAL mode, safe across threads and
processes on one machine); PostgreSQL when ``HEADROOM_DB_URL`` is ``postgresql://...`` so that
several instances (web app, Slack bot) share conversations. ``psycopg`` is imported only then.

    store = open_store(load_settings())
    store.add_turn("slack:C1:1700.1", "user", "can I fine-tune 13B on an A10?")
    store.history("slack:C1:1700.1")  # [Turn(role='user', content=...)]
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, Settings

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS headroom_turns (id {serial} PRIMARY KEY, "
    "conversation_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, "
    "backend TEXT NOT NULL DEFAULT '', created_at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS headroom_turns_conv ON headroom_turns (conversation_id, id)",
    "CREATE TABLE IF NOT EXISTS headroom_state (conversation_id TEXT PRIMARY KEY, "
    "state TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL)",
)


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str
    backend: str = ""


class SqlStore:
    """Turns and state in SQL tables, over any DB-API connection (``?`` or ``%s`` params)."""

    def __init__(self, connect: Any, placeholder: str = "?", serial: str = "INTEGER") -> None:
        self._connect = connect
        self._conn: Any = None
        self._p = placeholder
        self._serial = serial
        self._lock = threading.Lock()

    def _db(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
            cur = self._conn.cursor()
            for stmt in _SCHEMA:
                cur.execute(stmt.format(serial=self._serial))
            self._conn.commit()
        return self._conn

    def _run(self, sql: str, params: tuple[Any, ...] = (), fetch: bool = False) -> list[Any]:
        with self._lock:
            conn = self._db()
            cur = conn.cursor()
            cur.execute(sql.replace("?", self._p), params)
            rows = list(cur.fetchall()) if fetch else []
            conn.commit()
            return rows

    def add_turn(self, conversation_id: str, role: str, content: str, backend: str = "") -> None:
        """Append a message."""
        self._run("INSERT INTO headroom_turns (conversation_id, role, content, backend, "
                  "created_at) VALUES (?, ?, ?, ?, ?)",
                  (conversation_id, role, content, backend, time.time()))

    def history(self, conversation_id: str, limit: int = 20) -> list[Turn]:
        """The last ``limit`` messages, oldest first."""
        rows = self._run("SELECT role, content, backend FROM headroom_turns WHERE "
                         "conversation_id = ? ORDER BY id DESC LIMIT ?",
                         (conversation_id, limit), fetch=True)
        return [Turn(str(r[0]), str(r[1]), str(r[2])) for r in reversed(rows)]

    def load_state(self, conversation_id: str) -> dict[str, Any] | None:
        """The understood question of the conversation's last sizing turn, if any."""
        rows = self._run("SELECT state FROM headroom_state WHERE conversation_id = ?",
                         (conversation_id,), fetch=True)
        return json.loads(rows[0][0]) if rows else None

    def save_state(self, conversation_id: str, state: dict[str, Any]) -> None:
        """Replace the conversation's state."""
        self._run("INSERT INTO headroom_state (conversation_id, state, updated_at) VALUES (?, ?, ?) "
                  "ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, "
                  "updated_at = excluded.updated_at",
                  (conversation_id, json.dumps(state, ensure_ascii=False), time.time()))

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def sqlite_store(path: Path) -> SqlStore:
    """A store in one SQLite file (created on first use)."""

    def connect() -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, no fsync per turn
        return conn

    return SqlStore(connect)


def postgres_store(url: str) -> SqlStore:
    """A store in PostgreSQL (``pip install 'psycopg[binary]'``)."""
    try:
        import psycopg
    except ImportError:
        raise ConfigError("HEADROOM_DB_URL points at PostgreSQL but psycopg is not installed: "
                          "pip install 'psycopg[binary]'") from None
    return SqlStore(lambda: psycopg.connect(url), placeholder="%s", serial="BIGSERIAL")


def open_store(settings: Settings) -> SqlStore:
    """The store the settings ask for: PostgreSQL URL, ``sqlite:///path``, or the default file."""
    url = settings.db_url or ""
    if url.startswith(("postgres://", "postgresql://")):
        return postgres_store(url)
    if url.startswith("sqlite:///"):
        return sqlite_store(Path(url.removeprefix("sqlite:///")).expanduser())
    if url:
        raise ConfigError(f"unsupported HEADROOM_DB_URL {url!r}: use postgresql://... or "
                          "sqlite:///path")
    return sqlite_store(settings.sqlite_path)
