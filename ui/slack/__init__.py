"""The Headroom Slack bot (Slack Bolt for Python): ``headroom slack --mode socket|http``.

    from ui.slack import build_slack_app, load_slack_settings
    settings = load_slack_settings("socket")          # reads SLACK_* at startup
    app = build_slack_app(settings)                    # answers with assistant.stream
    serve_socket(app, settings)  |  serve_http(app, host, port)  |  build_asgi_app(app)

Modules: ``settings`` (tokens, redaction), ``app`` (listeners), ``responder`` (pipeline ->
messages), ``blocks`` / ``mrkdwn`` (Block Kit), ``dedupe``, ``state`` (threads, turns),
``asgi`` (HTTP mode, mountable), ``socket_mode``. Setup guide: ``ui/slack/README.md``.
"""

from .app import build_slack_app
from .asgi import build_asgi_app, serve_http
from .settings import SlackConfigError, SlackSettings, load_slack_settings
from .socket_mode import build_socket_handler, serve_socket

__all__ = ["SlackConfigError", "SlackSettings", "build_asgi_app", "build_slack_app",
           "build_socket_handler", "load_slack_settings", "serve_http", "serve_socket"]
