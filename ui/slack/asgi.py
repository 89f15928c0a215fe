"""HTTP mode: the Bolt app as an ASGI application (Slack's Events API / interactivity / commands).

    api = build_asgi_app(build_slack_app(settings))      # serves POST /slack/events
    uvicorn.run(api, host="127.0.0.1", port=3000)        # or: serve_http(app, host, port)

It can be mounted in an existing ASGI app (FastAPI, Starlette, the Gradio server)::

    web.mount("/slack", build_asgi_app(slack_app, path="/events"))   # POST /slack/events

Every request's signature (``X-Slack-Signature``, ``X-Slack-Request-Timestamp``, 5-minute
window) is checked by Bolt before any listener runs; a bad one gets 401. Dispatch runs in a
worker thread so that a host app's event loop is never blocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

DEFAULT_PATH = "/slack/events"


class MountableSlackHandler(SlackRequestHandler):
    """Bolt's ASGI handler, answering at ``path`` whether mounted (``root_path`` set) or not."""

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(body=await request.get_raw_body(),
                                   query=request.query_string, headers=request.get_headers())
        return await asyncio.to_thread(self.app.dispatch, bolt_request)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        root = scope.get("root_path") or ""
        path = scope.get("path", "")
        if scope["type"] == "http" and root and path.startswith(root):
            scope = {**scope, "path": path[len(root):]}  # Starlette keeps the mount prefix
        await super().__call__(scope, receive, send)


def build_asgi_app(app: App, path: str = DEFAULT_PATH) -> Callable[..., Any]:
    """An ASGI app serving Slack's requests at ``path``."""
    return MountableSlackHandler(app, path=path)


def serve_http(app: App, host: str = "127.0.0.1", port: int = 3000,
               path: str = DEFAULT_PATH) -> None:
    """Serve the app over HTTP with uvicorn until interrupted."""
    try:
        import uvicorn
    except ImportError as err:  # pragma: no cover - the slack extra installs it
        raise RuntimeError("HTTP mode needs uvicorn: pip install 'headroom[slack]'") from err
    uvicorn.run(build_asgi_app(app, path), host=host, port=port, log_level="info",
                lifespan="off", ws="none")
