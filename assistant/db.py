"""The one database behind conversations, feedback and the Slack bot's shared state.

SQLite by default (``$HEADROOM_HOME/headroom.sqlite3``, WAL); PostgreSQL when
``HEADROOM_DB_URL`` is ``postgresql://...`` (the ``postgres`` extra installs the driver,
``psycopg[binary]``), so that several web workers and Slack replicas share one state.

**Choice: SQLAlchemy Core** (not psycopg_pool): one API for both databases, a connection pool
with ``pool_pre_ping`` (a connection killed by a server restart is noticed at check-out and
replaced, so saving resumes by itself), connections reset (rolled back) when returned to the
pool, and dialect-specific upserts (``ON CONFLICT``) for both. On top of it this module adds:

- timeouts: ``connect_timeout`` (libpq, whole handshake) and ``statement_timeout`` /
  ``lock_timeout`` (server side) for PostgreSQL; the busy timeout for SQLite; a bounded wait for
  a pooled connection. A hung database costs a turn at most ``connect_timeout_s`` seconds.
- a short back-off: after a failed connect, calls fail at once for ``retry_after_s`` seconds
  (so a turn pays the timeout once, not per statement), then the next call tries again.
- one transaction per :meth:`Database.transaction` block, rolled back on any error; errors come
  out as :class:`StoreError`, one line, with passwords redacted.
- the schema is checked once per process and migrated when behind (see :mod:`assistant.schema`):
  always for SQLite; for PostgreSQL when ``migrate="auto"`` and the role may create tables, else
  the error says to run ``headroom db upgrade``. No DDL runs on an up-to-date database.

    db = database("postgresql://app:pw@db/headroom")
    with db.transaction() as conn:
        conn.execute(insert(turns).values(...))
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event, exc, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from tools.redact import redact_text, redact_url

from . import schema

MigratePolicy = Literal["auto", "never"]
_ADVISORY_LOCK = 7_231_004_551  # pg_advisory_xact_lock key of Headroom's migrations


class StoreError(RuntimeError):
    """The store could not do what was asked; one line naming the store (password masked)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (refused, timed out, restarting)."""


class SchemaError(StoreError):
    """The schema is missing, behind, or newer than this Headroom, and cannot be migrated."""


@dataclass(frozen=True)
class DbOptions:
    """How to talk to the database (see ``HEADROOM_DB_*`` in :mod:`assistant.config`)."""

    connect_timeout_s: float = 3.0
    statement_timeout_s: float = 5.0
    pool_size: int = 5
    retry_after_s: float = 2.0
    migrate: MigratePolicy = "auto"


def normalize_url(url: str) -> str:
    """``postgres://`` / ``postgresql://`` -> the psycopg 3 dialect; SQLite URLs as they are."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file."""
    return f"sqlite:///{path}"


class Database:
    """A pooled engine with timeouts, back-off, one-line errors and a checked schema."""

    def __init__(self, url: str, options: DbOptions | None = None) -> None:
        self.options = options or DbOptions()
        self.url = normalize_url(url)
        self.display_url = redact_url(url)
        try:
            parsed = make_url(self.url)
        except exc.ArgumentError:
            raise StoreError(f"cannot parse the database URL {self.display_url!r}: use "
                             "postgresql://user:password@host/db or sqlite:///path") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported database {self.display_url!r}: use "
                             "postgresql://user:password@host/db or sqlite:///path")
        self.engine = self._make_engine(parsed)
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._down_until = 0.0
        self._down_reason = ""

    # ------------------------------------------------------------------ engine

    def _make_engine(self, parsed: Any) -> Engine:
        o = self.options
        if self.dialect == "postgresql":
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise StoreError("HEADROOM_DB_URL points at PostgreSQL but its driver is not "
                                 "installed: pip install 'headroom[postgres]' (psycopg[binary])"
                                 ) from None
            ms = max(1, int(o.statement_timeout_s * 1000))
            connect_args = {
                # libpq: the whole handshake, whole seconds, at least 2
                "connect_timeout": max(2, math.ceil(o.connect_timeout_s)),
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms} "
                           "-c idle_in_transaction_session_timeout=60000",
                "application_name": "headroom",
                "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                "keepalives_count": 3,
            }
            return create_engine(parsed, pool_pre_ping=True, pool_size=o.pool_size,
                                 max_overflow=o.pool_size * 2, pool_timeout=o.connect_timeout_s,
                                 pool_recycle=1800, connect_args=connect_args)
        database = parsed.database or ""
        memory = database in ("", ":memory:")
        if not memory:
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the directory of {self.display_url}: "
                                 f"{e.strerror or e}") from None
        kwargs: dict[str, Any] = {"connect_args": {"timeout": o.statement_timeout_s,
                                                   "check_same_thread": False}}
        if memory:
            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(pool_pre_ping=True, pool_size=o.pool_size, max_overflow=o.pool_size * 2,
                          pool_timeout=max(o.connect_timeout_s, o.statement_timeout_s))
        engine = create_engine(parsed, **kwargs)
        _sqlite_transactions(engine, memory)
        return engine

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any error.

        ``write=False`` lets SQLite readers run beside a writer (WAL). Raises
        :class:`StoreUnavailable` when the database cannot be reached and :class:`StoreError`
        for any other database failure; the pool hands out a clean connection next time.
        """
        self._ensure_schema()
        with self._connect(write) as conn, self._errors():
            with conn.begin():
                yield conn

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[Connection]:
        now = time.monotonic()
        if now < self._down_until:
            raise StoreUnavailable(f"{self.display_url} is unreachable ({self._down_reason}); "
                                   f"retrying in {self._down_until - now:.0f} s")
        try:
            conn = self.engine.connect()
        except (exc.DBAPIError, exc.TimeoutError, OSError) as e:
            reason = _reason(e)
            self._down_reason = reason
            self._down_until = time.monotonic() + self.options.retry_after_s
            raise StoreUnavailable(f"cannot reach {self.display_url}: {reason}") from None
        try:
            if self.dialect == "sqlite" and write:
                conn = conn.execution_options(headroom_write=True)
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except exc.DBAPIError as e:
            if e.connection_invalidated:
                raise StoreUnavailable(f"{self.display_url}: connection lost ({_reason(e)})"
                                       ) from None
            raise StoreError(f"{self.display_url}: {_reason(e)}") from None
        except exc.SQLAlchemyError as e:
            raise StoreError(f"{self.display_url}: {_reason(e)}") from None

    # ------------------------------------------------------------------ schema

    def version(self) -> int:
        """The schema version applied to the database (0: none)."""
        with self._connect(False) as conn, self._errors(), conn.begin():
            return _version(conn)

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            current = self.version()
            if current > schema.LATEST:
                raise SchemaError(f"{self.display_url} has schema version {current}, newer than "
                                  f"this Headroom knows ({schema.LATEST}); upgrade Headroom")
            if current < schema.LATEST:
                if self.dialect == "postgresql" and self.options.migrate == "never":
                    raise SchemaError(self._behind(current))
                self.upgrade()
            self._schema_ready = True

    def _behind(self, current: int) -> str:
        return (f"{self.display_url} has schema version {current}, this Headroom needs "
                f"{schema.LATEST}: run `headroom db upgrade` as a role that may create tables")

    def upgrade(self) -> list[int]:
        """Apply the missing migrations in one transaction; returns the versions applied."""
        applied: list[int] = []
        try:
            with self._connect(True) as conn, self._errors(), conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})")
                schema.schema_versions.create(conn, checkfirst=True)
                current = _version(conn)  # again, under the lock: another replica may have won
                for migration in schema.MIGRATIONS:
                    if migration.version <= current:
                        continue
                    migration.apply(conn)
                    conn.execute(insert(schema.schema_versions).values(
                        version=migration.version, description=migration.description,
                        applied_at=time.time()))
                    applied.append(migration.version)
        except StoreUnavailable:
            raise
        except StoreError as e:
            if "permission denied" in str(e) or "must be owner" in str(e):
                raise SchemaError(self._behind(self.version())) from None
            raise
        self._schema_ready = True
        return applied

    def dispose(self) -> None:
        """Close the pooled connections (the next call opens new ones)."""
        self.engine.dispose()


def _version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, schema.schema_versions.name):
        return 0
    value = conn.execute(select(func.max(schema.schema_versions.c.version))).scalar()
    return int(value or 0)


def _reason(e: BaseException) -> str:
    """The driver's message, first line, credentials masked."""
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip() or type(orig).__name__
    first = text.splitlines()[0].strip()
    return redact_text(first)[:300]


def _sqlite_transactions(engine: Engine, memory: bool) -> None:
    """SQLite: WAL, and BEGIN issued by us (IMMEDIATE for writes, so no lock upgrade fails)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver issues no BEGIN of its own
        if not memory:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("headroom_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_CACHE: dict[tuple[str, DbOptions], Database] = {}
_CACHE_LOCK = threading.Lock()


def database(url: str, options: DbOptions | None = None) -> Database:
    """The process's one :class:`Database` for ``url`` (one pool, one schema check)."""
    key = (normalize_url(url), options or DbOptions())
    with _CACHE_LOCK:
        db = _CACHE.get(key)
        if db is None:
            db = _CACHE[key] = Database(url, key[1])
        return db


def memory_database() -> Database:
    """A private in-memory SQLite database (warm-up, tests)."""
    return Database("sqlite://")
