"""Slack settings: the one place the bot reads its tokens, at startup (never at import).

``SLACK_BOT_TOKEN``       ``xoxb-...`` bot token (both modes)
``SLACK_SIGNING_SECRET``  verifies HTTP requests from Slack (HTTP mode)
``SLACK_APP_TOKEN``       ``xapp-...`` app-level token with ``connections:write`` (Socket Mode)
``HEADROOM_DOCS_URL``     optional base URL for citation links, e.g.
                          ``https://github.com/acme/headroom/blob/main/`` (a cited
                          ``knowledge/guide/en/kv-cache.md`` becomes a link below it)
``SLACK_API_URL``         optional Web API base URL (default ``https://slack.com/api/``; e.g.
                          ``https://slack-gov.com/api/`` for GovSlack)
``HEADROOM_HOME``         data directory (thread registry and answer store live here)

Secrets are kept out of ``repr`` and every log line passes through :class:`RedactSecrets`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["socket", "http"]
DEFAULT_HOME = Path("~/.local/share/headroom")

_REQUIRED: dict[str, tuple[str, ...]] = {
    "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
    "http": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
}
_PREFIX = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


class SlackConfigError(ValueError):
    """A missing or malformed Slack setting; the message names the variable, never its value."""


@dataclass(frozen=True)
class SlackSettings:
    """What the Slack front end needs. Secrets never appear in ``repr``."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    home: Path = DEFAULT_HOME
    docs_url: str | None = None
    api_url: str | None = None
    command: str = "/headroom"
    update_interval_s: float = 1.0
    """Least time between two edits of the "thinking" message (chat.update is rate limited)."""

    def secrets(self) -> tuple[str, ...]:
        """The values that must never be logged or posted."""
        return tuple(s for s in (self.bot_token, self.signing_secret, self.app_token) if s)


def load_slack_settings(mode: Mode, env: Mapping[str, str] | None = None) -> SlackSettings:
    """Read the Slack settings for ``mode`` from ``env`` (default: the process environment)."""
    source = os.environ if env is None else env

    def get(name: str) -> str:
        return source.get(name, "").strip()

    missing = [name for name in _REQUIRED[mode] if not get(name)]
    if missing:
        raise SlackConfigError(f"{' and '.join(missing)} not set: `headroom slack --mode {mode}` "
                               "needs them (see ui/slack/README.md)")
    for name, prefix in _PREFIX.items():
        if get(name) and not get(name).startswith(prefix):
            raise SlackConfigError(f"{name} should start with {prefix!r}; check the variable")
    return SlackSettings(
        bot_token=get("SLACK_BOT_TOKEN"),
        signing_secret=get("SLACK_SIGNING_SECRET"),
        app_token=get("SLACK_APP_TOKEN"),
        home=Path(get("HEADROOM_HOME") or DEFAULT_HOME).expanduser(),
        docs_url=get("HEADROOM_DOCS_URL") or None,
        api_url=get("SLACK_API_URL") or None,
    )


class RedactSecrets(logging.Filter):
    """Replace any secret in a log record with ``[redacted]`` (defence in depth)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = message
        for secret in self._secrets:
            clean = clean.replace(secret, "[redacted]")
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self._secrets:
                text = text.replace(secret, "[redacted]")
            record.exc_text, record.exc_info = text, None
        return True


def install_redaction(settings: SlackSettings, logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactSecrets` to every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        handler.addFilter(RedactSecrets(settings.secrets()))
