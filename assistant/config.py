"""Assistant settings: the one place that reads the assistant's environment and config file.

Environment variables (they win over the file):

``HEADROOM_LLM_BASE_URL``  an OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, ...), e.g.
                           ``http://localhost:11434/v1``; when unset the assistant is offline.
``HEADROOM_LLM_MODEL``     the model name the endpoint serves (default ``gpt-4o-mini``).
``HEADROOM_LLM_API_KEY``   the key (falls back to ``OPENAI_API_KEY``; local servers need none).
``HEADROOM_LLM_TIMEOUT``   seconds per model request (default 30).
``HEADROOM_DB_URL``        conversation memory: ``postgresql://...`` for several instances;
                           default SQLite at ``$HEADROOM_HOME/conversations.sqlite3``.
``HEADROOM_CONFIG``        a TOML file (default ``$HEADROOM_HOME/config.toml``) with the same
                           settings: ``[llm] base_url, model, api_key, timeout_s`` and
                           ``[memory] db_url``.
``HEADROOM_HOME``          data directory (default ``~/.local/share/headroom``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    deadline_s: float = 90.0
    db_url: str | None = None

    @property
    def llm_enabled(self) -> bool:
        """True when an LLM endpoint is configured."""
        return bool(self.llm_base_url)

    @property
    def sqlite_path(self) -> Path:
        """The default conversation database."""
        return self.home / "conversations.sqlite3"


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
           "db_url": memory.get("db_url")}
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
                     ("db_url", "HEADROOM_DB_URL")):
        if get(var):
            values[key] = get(var)
    if "llm_api_key" not in values and get("OPENAI_API_KEY"):
        values["llm_api_key"] = get("OPENAI_API_KEY")
    if "llm_timeout_s" in values:
        try:
            values["llm_timeout_s"] = float(values["llm_timeout_s"])
        except (TypeError, ValueError):
            raise ConfigError(f"LLM timeout {values['llm_timeout_s']!r} is not a number of "
                              "seconds (HEADROOM_LLM_TIMEOUT)") from None
        if values["llm_timeout_s"] <= 0:
            raise ConfigError("the LLM timeout must be positive (HEADROOM_LLM_TIMEOUT)")
    return Settings(home=home, **values)
