"""Slack settings (read at startup, one-line errors), secret redaction, the retry cache, the CLI."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ui.cli_slack import slack
from ui.slack.dedupe import SeenCache
from ui.slack.settings import (
    RedactSecrets,
    SlackConfigError,
    SlackSettings,
    load_slack_settings,
)

BOT = "xoxb-9999-8888-settingsbottoken"
APP = "xapp-1-A1-7777-settingsapptoken"
SECRET = "0123456789abcdef0123456789abcdef"


def test_socket_mode_needs_bot_and_app_tokens() -> None:
    s = load_slack_settings("socket", {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP,
                                       "HEADROOM_HOME": "/tmp/h"})
    assert (s.bot_token, s.app_token, s.signing_secret, s.home) == (BOT, APP, "", Path("/tmp/h"))
    with pytest.raises(SlackConfigError, match="^SLACK_APP_TOKEN not set"):
        load_slack_settings("socket", {"SLACK_BOT_TOKEN": BOT})


def test_http_mode_needs_bot_token_and_signing_secret() -> None:
    with pytest.raises(SlackConfigError,
                       match="^SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set"):
        load_slack_settings("http", {})
    s = load_slack_settings("http", {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SECRET,
                                     "HEADROOM_DOCS_URL": "https://d/"})
    assert s.docs_url == "https://d/" and s.api_url is None


def test_swapped_tokens_are_caught_without_echoing_them() -> None:
    with pytest.raises(SlackConfigError) as err:
        load_slack_settings("socket", {"SLACK_BOT_TOKEN": APP, "SLACK_APP_TOKEN": BOT})
    assert "SLACK_BOT_TOKEN should start with 'xoxb-'" in str(err.value)
    assert APP not in str(err.value) and BOT not in str(err.value)


def test_secrets_are_not_in_repr() -> None:
    s = SlackSettings(bot_token=BOT, signing_secret=SECRET, app_token=APP)
    assert all(secret not in repr(s) for secret in (BOT, SECRET, APP))


def test_redaction_filter_scrubs_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s in %s", (BOT, "msg"),
                               None)
    try:
        raise ValueError(f"bad {SECRET}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecrets([BOT, SECRET]).filter(record)
    assert record.getMessage() == "token [redacted] in msg"
    assert record.exc_text is not None and SECRET not in record.exc_text
    assert "bad [redacted]" in record.exc_text


def test_seen_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    seen = SeenCache(ttl_s=10, max_size=3, clock=lambda: now[0])
    assert seen.first("a") and not seen.first("a")
    assert seen.first("b") and seen.first("c") and seen.first("d")
    assert len(seen) == 3 and seen.first("a")  # "a" was pushed out by the size bound
    now[0] = 11.0
    assert seen.first("d") and len(seen) == 1  # everything older than the TTL expired


def test_cli_reports_missing_tokens_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(slack, ["--mode", "http"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set: `headroom slack --mode http` "
        "needs them (see ui/slack/README.md)"]


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The CLI configures logging; put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_cli_reports_a_rejected_token_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_slack import FakeSlack

    with FakeSlack() as fake:
        fake.auth_error = "invalid_auth"
        monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
        monkeypatch.setenv("SLACK_APP_TOKEN", APP)
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        result = CliRunner().invoke(slack, [])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Slack rejected the bot token (SLACK_BOT_TOKEN)")
    assert "invalid_auth" in result.output and BOT not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_help_lists_modes() -> None:
    result = CliRunner().invoke(slack, ["--help"])
    assert result.exit_code == 0 and "[default: socket]" in result.output


def test_manifest_grants_what_the_bot_listens_to() -> None:
    import yaml

    path = Path(__file__).parents[1] / "ui" / "slack" / "manifest.yaml"
    manifest = yaml.safe_load(path.read_text("utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "chat:write", "im:history", "im:read", "channels:history", "commands"}
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_mention", "message.im", "message.channels"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/headroom"]
    assert SlackSettings(bot_token=BOT).command == "/headroom"


def test_question_text_undoes_slack_markup() -> None:
    from ui.slack.app import question_text

    raw = ("<@UBOT> does <https://huggingface.co/meta-llama/Llama-2-13b-hf|Llama-2-13b-hf> fit "
           "in &lt;24 GB &amp; on <#C42|gpu-lab>? <!here> cc <@U7>\n```\n| 0  A10 |\n```")
    assert question_text(raw, "UBOT") == (
        "does Llama-2-13b-hf fit in <24 GB & on #gpu-lab? @here cc <@U7>\n```\n| 0  A10 |\n```")
