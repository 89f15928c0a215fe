"""Socket Mode: the bot connects out to Slack over a WebSocket; no public URL is needed.

    serve_socket(build_slack_app(settings), settings)    # needs SLACK_APP_TOKEN (xapp-...)

Slack delivers the same payloads as in HTTP mode; each is acknowledged over the socket as soon as
its listener's ``ack()`` runs (the answer itself is posted by a lazy listener).
"""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from .settings import SlackSettings


def build_socket_handler(app: App, settings: SlackSettings) -> SocketModeHandler:
    """The Socket Mode handler (built-in WebSocket client, no extra dependency); not connected."""
    return SocketModeHandler(app, app_token=settings.app_token, logger=app.logger)


def serve_socket(app: App, settings: SlackSettings) -> None:
    """Connect and serve until interrupted."""
    build_socket_handler(app, settings).start()  # type: ignore[no-untyped-call]
