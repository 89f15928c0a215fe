"""The store's tables and the versioned migrations that create them.

One database holds everything Headroom remembers, so that every web worker and Slack replica
pointed at it agrees: conversations (turns and the understood question), feedback votes, the
Slack threads the bot is in, the answers behind Slack buttons, and claimed event ids (each
Slack delivery is answered once across replicas).

Migrations are numbered; ``headroom_schema`` records each one applied. :func:`assistant.db.
Database.upgrade` applies the missing ones in one transaction (PostgreSQL DDL is transactional;
an advisory lock keeps two replicas starting together from racing). Nothing here runs on every
connect: a process reads the version once and migrates only when it is behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

KEY_LEN = 255
"""Longest conversation id / claim key stored as is (longer ones are hashed, see memory.key)."""

metadata = MetaData()
_Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY

schema_versions = Table(
    "headroom_schema", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", Float, nullable=False),
)

turns = Table(
    "headroom_turns", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("conversation_id", String(KEY_LEN), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("backend", String(32), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    CheckConstraint("role IN ('user', 'assistant')", name="headroom_turns_role"),
    Index("headroom_turns_conv", "conversation_id", "id"),
)

states = Table(
    "headroom_state", metadata,
    Column("conversation_id", String(KEY_LEN), primary_key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

feedback = Table(
    "headroom_feedback", metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("conversation_id", String(KEY_LEN), nullable=False),
    Column("message_index", Integer, nullable=False),
    Column("rating", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    CheckConstraint("length(conversation_id) > 0", name="headroom_feedback_conv"),
    CheckConstraint("message_index >= 0", name="headroom_feedback_index"),
    CheckConstraint("rating IN ('up', 'down', 'none')", name="headroom_feedback_rating"),
    Index("headroom_feedback_conv_idx", "conversation_id", "message_index"),
)

slack_threads = Table(
    "headroom_slack_threads", metadata,
    Column("channel", String(64), primary_key=True),
    Column("thread_ts", String(64), primary_key=True),
    Column("created", Float, nullable=False),
    Index("headroom_slack_threads_created", "created"),
)

slack_turns = Table(
    "headroom_slack_turns", metadata,
    Column("seq", _Id, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False),
    Column("conversation_id", String(KEY_LEN), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer_json", Text, nullable=False),
    Column("created", Float, nullable=False),
    UniqueConstraint("id", name="headroom_slack_turns_id"),
    Index("headroom_slack_turns_conv", "conversation_id", "seq"),
    Index("headroom_slack_turns_created", "created"),
)

claims = Table(
    "headroom_claims", metadata,
    Column("key", String(KEY_LEN), primary_key=True),
    Column("created", Float, nullable=False),
    Index("headroom_claims_created", "created"),
)


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[turns, states, feedback, slack_threads, slack_turns,
                                      claims])


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "conversations, feedback, Slack threads and turns, event claims", _v1),
)
LATEST = MIGRATIONS[-1].version
