"""Settings (environment over config file) and the conversation store on SQLite (PostgreSQL:
tests/test_store_postgres.py, against a real server)."""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant import schema
from assistant.config import ConfigError, Settings, load_settings
from assistant.db import Database, StoreError, sqlite_url
from assistant.memory import ConversationStore, key, open_store


def test_settings_come_from_the_environment_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[llm]\nbase_url = "http://file:8000/v1"\nmodel = "from-file"\ntimeout_s = 12\n'
        '[memory]\ndb_url = "sqlite:///tmp/x.db"\n')
    settings = load_settings({"HEADROOM_HOME": str(tmp_path),
                              "HEADROOM_LLM_MODEL": "from-env", "OPENAI_API_KEY": "sk-env"})
    assert settings.llm_base_url == "http://file:8000/v1" and settings.llm_model == "from-env"
    assert settings.llm_timeout_s == 12.0 and settings.llm_api_key == "sk-env"
    assert settings.db_url == "sqlite:///tmp/x.db" and settings.llm_enabled


def test_no_endpoint_means_offline(tmp_path: Path) -> None:
    settings = load_settings({"HEADROOM_HOME": str(tmp_path)})
    assert not settings.llm_enabled and settings.sqlite_path == tmp_path / "headroom.sqlite3"


@pytest.mark.parametrize(("env", "message"), [
    ({"HEADROOM_LLM_TIMEOUT": "soon"}, "not a number"),
    ({"HEADROOM_LLM_TIMEOUT": "-1"}, "must be positive"),
    ({"HEADROOM_DB_CONNECT_TIMEOUT": "nan"}, "connect timeout must be positive"),
    ({"HEADROOM_DB_STATEMENT_TIMEOUT": "x"}, "statement timeout 'x' is not a number"),
    ({"HEADROOM_DB_POOL_SIZE": "0"}, "HEADROOM_DB_POOL_SIZE"),
    ({"HEADROOM_DB_MIGRATE": "sometimes"}, "'auto' or 'never'"),
])
def test_bad_settings_say_which_and_why(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"HEADROOM_HOME": str(tmp_path), **env})


def test_a_broken_config_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[llm\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({"HEADROOM_HOME": str(tmp_path)})


def test_turns_and_state_persist_across_store_instances(tmp_path: Path) -> None:
    store = open_store(Settings(home=tmp_path))
    store.add_turn("c1", "user", "can I run 13B on an A10?")
    store.add_turn("c1", "assistant", "No.", "offline")
    store.add_turn("c2", "user", "other conversation")
    store.save_state("c1", {"model": "13B", "gpu": "a10"})
    store.save_state("c1", {"model": "13B", "gpu": "a10", "num_gpus": 2})
    store.close()
    again = ConversationStore(Database(sqlite_url(tmp_path / "headroom.sqlite3")))
    assert [(t.role, t.content) for t in again.history("c1")] == [
        ("user", "can I run 13B on an A10?"), ("assistant", "No.")]
    assert again.load_state("c1") == {"model": "13B", "gpu": "a10", "num_gpus": 2}
    assert again.load_state("nobody") is None
    assert [t.content for t in again.history("c1", limit=1)] == ["No."]


def test_the_store_is_safe_across_threads(tmp_path: Path) -> None:
    store = open_store(Settings(home=tmp_path))

    def write(n: int) -> None:
        for i in range(20):
            store.add_turn(f"t{n}", "user", str(i))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [len(store.history(f"t{n}", limit=100)) for n in range(4)] == [20, 20, 20, 20]


def test_sqlite_url_and_unsupported_urls(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.db"
    open_store(Settings(home=tmp_path, db_url=f"sqlite:///{path}")).add_turn("c", "user", "hi")
    assert path.exists()
    with pytest.raises(ConfigError, match="unsupported"):
        open_store(Settings(home=tmp_path, db_url="mysql://x"))


def test_a_turn_is_one_transaction_and_long_ids_work(tmp_path: Path) -> None:
    store = open_store(Settings(home=tmp_path))
    long_id = "x" * 8000 + "\x00"
    store.record_turn(long_id, "can I run 13B on an A10?", "No.", "offline", {"model": "13B"})
    assert key(long_id).startswith("sha256:") and key("slack:T1:C1:1.2") == "slack:T1:C1:1.2"
    assert [t.role for t in store.history(long_id)] == ["user", "assistant"]
    assert store.load_state(long_id) == {"model": "13B"}
    with pytest.raises(StoreError, match="CHECK constraint"):
        store.add_turn("c", "bogus-role", "x")  # refused by the database, rolled back
    with pytest.raises(TypeError):  # the state cannot be serialised: nothing of the turn stays
        store.record_turn("c", "hello", "hi", "offline", {"bad": object()})
    assert store.history("c") == []
    store.record_turn("c", "hello", "hi")  # the same pool serves the next turn
    assert len(store.history("c")) == 2


def test_schema_is_versioned_and_migrated_once(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "s.sqlite3"))
    assert db.version() == 0
    assert db.upgrade() == [schema.LATEST] and db.upgrade() == []
    assert db.version() == schema.LATEST
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    rows = conn.execute("SELECT version, description FROM headroom_schema").fetchall()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.execute("INSERT INTO headroom_schema VALUES (99, 'from the future', 0)")
    conn.commit()
    conn.close()
    assert [r[0] for r in rows] == [1]
    assert {t.name for t in schema.metadata.tables.values()} <= tables
    newer = ConversationStore(Database(sqlite_url(tmp_path / "s.sqlite3")))
    with pytest.raises(StoreError, match="newer than this Headroom"):
        newer.history("c")


def test_a_fresh_sqlite_store_creates_its_schema_on_first_use(tmp_path: Path) -> None:
    store = ConversationStore(Database(sqlite_url(tmp_path / "new" / "h.sqlite3")))
    store.record_turn("c", "hi", "hello")
    assert store.db.version() == schema.LATEST


def test_a_full_database_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"
    store = ConversationStore(Database(sqlite_url(path)))
    store.record_turn("c", "first", "answer")
    conn = sqlite3.connect(path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()

    def cap(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

    from sqlalchemy import event

    store.db.dispose()
    event.listen(store.db.engine, "connect", cap)
    with pytest.raises(StoreError, match="full"):
        store.record_turn("c", "x" * 200_000, "y" * 200_000)
    event.remove(store.db.engine, "connect", cap)
    store.db.dispose()
    assert [t.content for t in store.history("c")] == ["first", "answer"]


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is not None, reason="psycopg installed")
def test_postgres_without_psycopg_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="psycopg"):
        open_store(Settings(home=tmp_path, db_url="postgresql://u@localhost/headroom"))


def test_the_postgres_extra_declares_the_driver() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["postgres"]
    assert any(d.startswith("psycopg[binary]") for d in extra)
    assert any(d.lower().startswith("sqlalchemy") for d in project["dependencies"])
