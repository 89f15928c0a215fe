"""Conversation memory that survives a restart and is shared by every replica.

Turns and the understood question per conversation id, in the one store of :mod:`assistant.db`
(SQLite by default, PostgreSQL via ``HEADROOM_DB_URL``, so any web worker or Slack replica can
continue any conversation). One turn (the user's message, the answer and the new state) is one
transaction: it is stored whole or not at all.

    store = open_store(load_settings())
    store.record_turn("slack:C1:1700.1", "can I fine-tune 13B on an A10?", "No: ...", "offline",
                      state={"model": "13B"})
    store.history("slack:C1:1700.1")  # [Turn(role='user', ...), Turn(role='assistant', ...)]
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .config import ConfigError, Settings
from .db import Database, DbOptions, StoreError, database, memory_database, sqlite_url
from .schema import KEY_LEN, states, turns


def key(conversation_id: str) -> str:
    """The stored form of an id: as is up to 255 UTF-8 bytes, else ``sha256:<hex>``.

    Any id works (an 8,000-character one, NUL bytes): long or odd ids are hashed rather than
    refused or sent to the database to fail there.
    """
    raw = conversation_id.encode("utf-8", "surrogatepass")
    if len(raw) <= KEY_LEN and "\x00" not in conversation_id:
        try:
            raw.decode("utf-8")
            return conversation_id
        except UnicodeDecodeError:
            pass
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def clean_text(value: str) -> str:
    """Text PostgreSQL accepts (no NUL, no lone surrogates)."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str
    backend: str = ""


class ConversationStore:
    """Turns and state of conversations in a :class:`Database`; safe across threads."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_turn(self, conversation_id: str, message: str, answer: str, backend: str = "",
                    state: dict[str, Any] | None = None) -> None:
        """The user's message, the answer and (when given) the new state, in one transaction."""
        cid, now = key(conversation_id), time.time()
        with self.db.transaction() as conn:
            conn.execute(insert(turns), [
                {"conversation_id": cid, "role": "user", "content": clean_text(message),
                 "backend": "", "created_at": now},
                {"conversation_id": cid, "role": "assistant", "content": clean_text(answer),
                 "backend": backend[:32], "created_at": now}])
            if state is not None:
                self._save_state(conn, cid, state, now)

    def add_turn(self, conversation_id: str, role: str, content: str, backend: str = "") -> None:
        """Append one message (``role`` is "user" or "assistant")."""
        with self.db.transaction() as conn:
            conn.execute(insert(turns).values(
                conversation_id=key(conversation_id), role=role, content=clean_text(content),
                backend=backend[:32], created_at=time.time()))

    def history(self, conversation_id: str, limit: int = 20) -> list[Turn]:
        """The last ``limit`` messages, oldest first."""
        query = (select(turns.c.role, turns.c.content, turns.c.backend)
                 .where(turns.c.conversation_id == key(conversation_id))
                 .order_by(turns.c.id.desc()).limit(max(0, int(limit))))
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [Turn(str(r[0]), str(r[1]), str(r[2])) for r in reversed(rows)]

    def load_state(self, conversation_id: str) -> dict[str, Any] | None:
        """The understood question of the conversation's last sizing turn, if any."""
        query = select(states.c.state).where(states.c.conversation_id == key(conversation_id))
        with self.db.transaction(write=False) as conn:
            value = conn.execute(query).scalar()
        if value is None:
            return None
        data = json.loads(value)
        return data if isinstance(data, dict) else None

    def save_state(self, conversation_id: str, state: dict[str, Any]) -> None:
        """Replace the conversation's state."""
        with self.db.transaction() as conn:
            self._save_state(conn, key(conversation_id), state, time.time())

    def _save_state(self, conn: Connection, cid: str, state: dict[str, Any], now: float) -> None:
        values = {"conversation_id": cid, "state": clean_text(json.dumps(state, ensure_ascii=False)),
                  "updated_at": now}
        make = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = make(states).values(**values)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[states.c.conversation_id],
            set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at}))

    def close(self) -> None:
        """Close the pooled connections (a later call reopens them)."""
        self.db.dispose()


SqlStore = ConversationStore  # the name callers used before the shared store


def db_options(settings: Settings) -> DbOptions:
    """The connection options the settings ask for."""
    return DbOptions(connect_timeout_s=settings.db_connect_timeout_s,
                     statement_timeout_s=settings.db_statement_timeout_s,
                     pool_size=settings.db_pool_size, migrate=settings.db_migrate)


def open_database(settings: Settings) -> Database:
    """The shared database: ``HEADROOM_DB_URL`` (PostgreSQL or ``sqlite:///path``) or the file
    ``$HEADROOM_HOME/headroom.sqlite3``. Raises ConfigError for an unusable URL."""
    url = settings.db_url or ""
    if url and not url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://",
                                   "sqlite:///")):
        raise ConfigError(f"unsupported HEADROOM_DB_URL {settings.display_db_url!r}: use "
                          "postgresql://user:password@host/db or sqlite:///path")
    if url.startswith("sqlite:///"):
        url = sqlite_url(Path(url.removeprefix("sqlite:///")).expanduser())
    try:
        return database(url or sqlite_url(settings.sqlite_path), db_options(settings))
    except StoreError as e:
        raise ConfigError(str(e)) from None


def open_store(settings: Settings) -> ConversationStore:
    """The conversation store the settings ask for."""
    return ConversationStore(open_database(settings))


def memory_store() -> ConversationStore:
    """A private in-memory store (warm-up, tests)."""
    return ConversationStore(memory_database())
