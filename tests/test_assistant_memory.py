"""Settings (environment over config file) and the conversation store (SQLite; PostgreSQL
only when configured, and psycopg is never needed otherwise)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from assistant.config import ConfigError, Settings, load_settings
from assistant.memory import open_store, sqlite_store


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
    assert not settings.llm_enabled and settings.sqlite_path == tmp_path / "conversations.sqlite3"


@pytest.mark.parametrize(("env", "message"), [
    ({"HEADROOM_LLM_TIMEOUT": "soon"}, "not a number"),
    ({"HEADROOM_LLM_TIMEOUT": "-1"}, "must be positive"),
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
    again = sqlite_store(tmp_path / "conversations.sqlite3")
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


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is not None, reason="psycopg installed")
def test_postgres_without_psycopg_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="psycopg"):
        open_store(Settings(home=tmp_path, db_url="postgresql://u@localhost/headroom"))
