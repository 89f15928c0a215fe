"""Assistant settings: the one place that reads the assistant's environment and config file.

Environment variables (they win over the file):

``HEADROOM_LLM_BASE_URL``  an OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, ...), e.g.
                           ``http://localhost:11434/v1``; when unset the assistant is offline.
``HEADROOM_LLM_MODEL``     the model name the endpoint serves (default ``gpt-4o-mini``).
``HEADROOM_LLM_API_KEY``   the key (falls back to ``OPENAI_API_KEY``; local servers need none).
``HEADROOM_LLM_TIMEOUT``   seconds per model request (default 30).
``HEADROOM_DB_URL``        the store (conversations, feedback, Slack state): ``postgresql://...``
                           for several replicas; default SQLite ``$HEADROOM_HOME/headroom.sqlite3``.
``HEADROOM_DB_CONNECT_TIMEOUT``   seconds to connect (default 3; PostgreSQL rounds up, min 2).
``HEADROOM_DB_STATEMENT_TIMEOUT`` seconds per statement / lock wait (default 5).
``HEADROOM_DB_POOL_SIZE``  pooled connections per process (default 5).
``HEADROOM_DB_MIGRATE``    ``auto`` (default: migrate on start when the role may) or ``never``
                           (PostgreSQL: only ``headroom db upgrade`` changes the schema).
``HEADROOM_CONFIG``        a TOML file (default ``$HEADROOM_HOME/config.toml``) with the same
                           settings: ``[llm] base_url, model, api_key, timeout_s`` and
                           ``[memory] db_url, connect_timeout_s, statement_timeout_s``.
``HEADROOM_HOME``          data directory (default ``~/.local/share/headroom``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DEFAULT_HOME = Path("~/.local/share/headroom")
DEFAULT_MODEL = "gpt-4o-mini"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Settings:
    """What the assistant needs to know about its environment."""

    home: Path
    llm_base_url: str | None = None
    llm_model: str = DEFAULT_MODEL
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    max_model_calls: int = 6
    llm_max_tokens: int = 1024
    """The most tokens one model reply may have (a small model can ramble for minutes)."""
    deadline_s: float = 90.0
    db_url: str | None = None
    db_connect_timeout_s: float = 3.0
    db_statement_timeout_s: float = 5.0
    db_pool_size: int = 5
    db_migrate: Literal["auto", "never"] = "auto"

    @property
    def display_db_url(self) -> str:
        """The store URL with its password masked (for messages and ``headroom config``)."""
        from tools.redact import redact_url

        return redact_url(self.db_url) if self.db_url else f"sqlite:///{self.sqlite_path}"

    @property
    def llm_enabled(self) -> bool:
        """True when an LLM endpoint is configured."""
        return bool(self.llm_base_url)

    @property
    def sqlite_path(self) -> Path:
        """The default store: one SQLite file for conversations, feedback and Slack state."""
        return self.home / "headroom.sqlite3"


def _file_settings(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    llm = data.get("llm", {})
    memory = data.get("memory", {})
    out = {"llm_base_url": llm.get("base_url"), "llm_model": llm.get("model"),
           "llm_api_key": llm.get("api_key"), "llm_timeout_s": llm.get("timeout_s"),
           "db_url": memory.get("db_url"),
           "db_connect_timeout_s": memory.get("connect_timeout_s"),
           "db_statement_timeout_s": memory.get("statement_timeout_s")}
    return {k: v for k, v in out.items() if v not in (None, "")}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment) and the config file."""
    source = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = source.get(name, "").strip()
        return value or None

    home = Path(get("HEADROOM_HOME") or DEFAULT_HOME).expanduser()
    config_path = Path(get("HEADROOM_CONFIG") or home / "config.toml").expanduser()
    values: dict[str, Any] = _file_settings(config_path)
    for key, var in (("llm_base_url", "HEADROOM_LLM_BASE_URL"), ("llm_model", "HEADROOM_LLM_MODEL"),
                     ("llm_api_key", "HEADROOM_LLM_API_KEY"), ("llm_timeout_s", "HEADROOM_LLM_TIMEOUT"),
                     ("db_url", "HEADROOM_DB_URL"),
                     ("db_connect_timeout_s", "HEADROOM_DB_CONNECT_TIMEOUT"),
                     ("db_statement_timeout_s", "HEADROOM_DB_STATEMENT_TIMEOUT"),
                     ("db_pool_size", "HEADROOM_DB_POOL_SIZE"), ("db_migrate", "HEADROOM_DB_MIGRATE")):
        if get(var):
            values[key] = get(var)
    if "llm_api_key" not in values and get("OPENAI_API_KEY"):
        values["llm_api_key"] = get("OPENAI_API_KEY")
    for field, var, what in (("llm_timeout_s", "HEADROOM_LLM_TIMEOUT", "the LLM timeout"),
                             ("db_connect_timeout_s", "HEADROOM_DB_CONNECT_TIMEOUT",
                              "the database connect timeout"),
                             ("db_statement_timeout_s", "HEADROOM_DB_STATEMENT_TIMEOUT",
                              "the database statement timeout")):
        if field in values:
            values[field] = _seconds(values[field], var, what)
    if "db_pool_size" in values:
        try:
            values["db_pool_size"] = int(values["db_pool_size"])
        except (TypeError, ValueError):
            values["db_pool_size"] = 0
        if not 1 <= values["db_pool_size"] <= 100:
            raise ConfigError("HEADROOM_DB_POOL_SIZE must be a whole number from 1 to 100")
    if values.get("db_migrate", "auto") not in ("auto", "never"):
        raise ConfigError(f"HEADROOM_DB_MIGRATE {values['db_migrate']!r}: use 'auto' or 'never'")
    return Settings(home=home, **values)


def _seconds(value: Any, var: str, what: str) -> float:
    """A positive, finite number of seconds, or a ConfigError naming the variable."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} {value!r} is not a number of seconds ({var})") from None
    if not 0 < seconds < 86_400:
        raise ConfigError(f"{what} must be positive and under a day ({var})")
    return seconds
