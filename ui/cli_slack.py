"""``headroom slack``: run the Slack bot, in Socket Mode (no public URL) or HTTP mode.

    SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... headroom slack
    SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... headroom slack --mode http --port 3000

Registered in the main group by ``ui/cli.py``. Tokens are read when the command starts, and Slack
imports happen inside the command so that ``headroom --help`` stays fast. Setup guide (app
manifest, scopes, tokens): ``ui/slack/README.md``.
"""

from __future__ import annotations

import logging

import click

INSTALL_HINT = "the Slack bot needs the slack extra: pip install 'headroom[slack]'"


@click.command("slack")
@click.option("--mode", type=click.Choice(["socket", "http"]), default="socket", show_default=True,
              help="socket: connect out to Slack (needs SLACK_APP_TOKEN); http: serve the events "
              "endpoint (needs SLACK_SIGNING_SECRET and a public HTTPS URL)")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP mode: address to bind")
@click.option("--port", type=int, default=3000, show_default=True, help="HTTP mode: port")
@click.option("--path", default="/slack/events", show_default=True,
              help="HTTP mode: the Request URL path (events, commands and interactivity)")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def slack(mode: str, host: str, port: int, path: str, log_level: str) -> None:
    """Answer GPU-memory questions in Slack: @mentions, DMs, threads and /headroom."""
    try:
        from slack_bolt.error import BoltError

        from ui.slack import (
            SlackConfigError,
            build_slack_app,
            load_slack_settings,
            serve_http,
            serve_socket,
        )
        from ui.slack.settings import install_redaction
    except ImportError as err:
        raise click.ClickException(f"{INSTALL_HINT} ({err.name} is missing)") from None
    try:
        settings = load_slack_settings("socket" if mode == "socket" else "http")
    except SlackConfigError as err:
        raise click.ClickException(str(err)) from None
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction(settings)
    try:
        app = build_slack_app(settings)
    except BoltError as err:
        raise click.ClickException(f"Slack rejected the bot token (SLACK_BOT_TOKEN): "
                                   f"{_first_line(err)}") from None
    except OSError as err:
        raise click.ClickException(f"cannot reach Slack: {_first_line(err)}") from None
    except (RuntimeError, ValueError) as err:  # the assistant's ConfigError is a ValueError
        raise click.ClickException(str(err)) from None
    try:
        if mode == "socket":
            click.echo("Headroom Slack bot: Socket Mode, connecting to Slack (Ctrl+C to stop)",
                       err=True)
            serve_socket(app, settings)
        else:
            click.echo(f"Headroom Slack bot: HTTP mode, Request URL path {path} on "
                       f"http://{host}:{port} (Ctrl+C to stop)", err=True)
            serve_http(app, host=host, port=port, path=path)
    except KeyboardInterrupt:
        pass
    click.echo("stopped", err=True)


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
