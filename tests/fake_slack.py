"""A local fake of Slack for the bot's tests: the Web API, response URLs, and signed requests.

- ``POST /api/<method>`` (form or JSON) is recorded and answered like Slack would:
  ``auth.test`` names the bot, ``chat.postMessage``/``chat.update`` return a ``ts``.
  :meth:`FakeSlack.rate_limit` scripts HTTP 429 with ``Retry-After`` for the next calls.
- ``POST /response/<id>`` is a response_url sink (answers ``ok`` like Slack's hooks).
- :func:`signed_headers` signs a body with Slack's v0 algorithm:
  ``"v0=" + hex(HMAC_SHA256(secret, "v0:{ts}:{body}"))``.

The real ``slack_sdk`` clients are pointed at it (``base_url=fake.api_url``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


def sign(body: str, secret: str, timestamp: int) -> str:
    """Slack's request signature of ``body`` at ``timestamp`` (v0, HMAC-SHA256)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: str, secret: str, *, timestamp: int | None = None,
                   content_type: str = "application/json",
                   extra: dict[str, str] | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``; ``timestamp`` defaults to now."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(body, secret, ts), **(extra or {})}


class FakeSlack:
    """The fake server; use as a context manager (it listens on 127.0.0.1, a free port)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._limits: dict[str, list[int]] = {}
        self.auth_error: str | None = None
        """When set, ``auth.test`` fails with this error (e.g. ``invalid_auth``)."""
        self.socket_url: str | None = None
        """What ``apps.connections.open`` answers (a :class:`FakeSocketMode` URL)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = self.url + "/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                        daemon=True)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def response_url(self, name: str) -> str:
        """A response_url whose posts are recorded as method ``response/<name>``."""
        return f"{self.url}/response/{name}"

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        self._limits[method] = [retry_after] * times

    def of(self, method: str) -> list[Call]:
        """The successful calls of ``method`` so far."""
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (listeners run on threads)."""
        self.wait_until(lambda: len(self.of(method)) >= count, timeout, f"{count} x {method}")
        return self.of(method)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0,
                   what: str = "condition") -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        with self._lock:
            seen = [c.method for c in self.calls]
        raise AssertionError(f"timed out waiting for {what}; calls: {seen}")

    # -- the server side ---------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        raw = req.rfile.read(int(req.headers.get("Content-Length", 0))).decode()
        if "json" in req.headers.get("Content-Type", ""):
            args = json.loads(raw or "{}")
        else:
            args = {k: v[0] for k, v in parse_qs(raw).items()}
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        path = req.path.split("?")[0]
        method = path[len("/api/"):] if path.startswith("/api/") else path.lstrip("/")
        call = Call(method, args, {k.lower(): v for k, v in req.headers.items()})
        with self._lock:
            self.calls.append(call)
            limits = self._limits.get(method)
            retry_after = limits.pop(0) if limits else None
        if retry_after is not None:
            call.status = 429
            self._send(req, 429, {"ok": False, "error": "ratelimited"},
                       {"Retry-After": str(retry_after)})
        elif method.startswith("response/"):
            self._send(req, 200, None)
        else:
            self._send(req, 200, self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test" and self.auth_error:
            return {"ok": False, "error": self.auth_error}
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "headroom",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text", "")}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        return {"ok": True}

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, payload: dict[str, Any] | None,
              headers: dict[str, str] | None = None) -> None:
        body = b"ok" if payload is None else json.dumps(payload).encode()
        req.send_response(status)
        req.send_header("Content-Type", "text/plain" if payload is None else "application/json")
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(body)


# -- payload builders --------------------------------------------------------------------------

_event_ids = itertools.count(1)


def event_body(event: dict[str, Any], event_id: str | None = None) -> str:
    """An Events API ``event_callback`` body around ``event``."""
    return json.dumps({
        "token": "verification-token-unused", "team_id": TEAM_ID, "api_app_id": "A1",
        "type": "event_callback", "event_id": event_id or f"Ev{next(_event_ids):06d}",
        "event_time": int(time.time()), "event": event,
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}]})


def mention(text: str, ts: str = "1700000100.000100", channel: str = "C1",
            thread_ts: str | None = None, user: str = "U1") -> dict[str, Any]:
    ev = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
          "channel": channel, "event_ts": ts}
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def message(text: str, ts: str, channel: str = "C1", channel_type: str = "channel",
            thread_ts: str | None = None, user: str | None = "U1",
            **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"type": "message", "text": text, "ts": ts, "channel": channel,
                          "channel_type": channel_type, "event_ts": ts, **extra}
    if user:
        ev["user"] = user
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def form_body(fields: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


def command_body(text: str, response_url: str, command: str = "/headroom") -> str:
    """A slash command's form body."""
    return form_body({"token": "unused", "team_id": TEAM_ID, "channel_id": "C1",
                      "channel_name": "gpu", "user_id": "U1", "user_name": "ada",
                      "command": command, "text": text, "response_url": response_url,
                      "trigger_id": "123.456.abc", "api_app_id": "A1"})


def action_body(action_id: str, value: str, response_url: str, *, ephemeral: bool,
                thread_ts: str | None = None) -> str:
    """A ``block_actions`` payload (form field ``payload``) for a button click."""
    container: dict[str, Any] = {"type": "message", "message_ts": "1700000000.000001",
                                 "channel_id": "C1", "is_ephemeral": ephemeral}
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": "U2", "username": "bob", "team_id": TEAM_ID}, "api_app_id": "A1",
        "token": "unused", "container": container, "trigger_id": "1.2.3",
        "channel": {"id": "C1", "name": "gpu"}, "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1",
                     "value": value, "action_ts": "1700000000.1"}]}
    if not ephemeral:
        payload["message"] = {"type": "message", "ts": "1700000000.000001", "text": "",
                              **({"thread_ts": thread_ts} if thread_ts else {})}
    return form_body({"payload": json.dumps(payload)})


# -- Socket Mode: a minimal WebSocket server (RFC 6455 handshake and frames) -------------------

class FakeSocketMode:
    """Slack's Socket Mode end: accepts one WebSocket client, sends envelopes, records acks.

    Point ``apps.connections.open`` at it with :meth:`FakeSlack.socket_url`.
    """

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self) -> None:
        import socket

        self.acks: list[dict[str, Any]] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link"
        self._conn: Any = None
        self._connected = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import base64

        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        key = next(line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self._conn = conn
        self._connected.set()
        self.send({"type": "hello", "num_connections": 1,
                   "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}})
        while not self._closed:
            try:
                opcode, data = self._read_frame(conn)
            except (OSError, ConnectionError):
                return
            if opcode == 0x1:
                self.acks.append(json.loads(data))
            elif opcode == 0x9:
                self._write_frame(0xA, data)
            elif opcode == 0x8:
                self._write_frame(0x8, data[:2])
                conn.close()
                return

    @staticmethod
    def _read_exact(conn: Any, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _read_frame(self, conn: Any) -> tuple[int, bytes]:
        b0, b1 = self._read_exact(conn, 2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(self._read_exact(conn, 2), "big")
        elif length == 127:
            length = int.from_bytes(self._read_exact(conn, 8), "big")
        mask = self._read_exact(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
        payload = self._read_exact(conn, length)
        return b0 & 0x0F, bytes(c ^ mask[i % 4] for i, c in enumerate(payload))

    def _write_frame(self, opcode: int, data: bytes) -> None:
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + n.to_bytes(2, "big")
        else:
            head += bytes([127]) + n.to_bytes(8, "big")
        self._conn.sendall(head + data)

    def wait_connected(self, timeout: float = 10.0) -> None:
        if not self._connected.wait(timeout):
            raise AssertionError("the Socket Mode client never connected")

    def send(self, envelope: dict[str, Any]) -> None:
        """Send one envelope (``events_api``, ``slash_commands``, ``interactive``) to the bot."""
        self._write_frame(0x1, json.dumps(envelope).encode())

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ack in list(self.acks):
                if ack.get("envelope_id") == envelope_id:
                    return ack
            time.sleep(0.01)
        raise AssertionError(f"no ack for envelope {envelope_id}; acks: {self.acks}")

    def close(self) -> None:
        import socket

        self._closed = True
        for s in (self._conn, self._listener):
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)  # wakes both ends' blocking reads
                except OSError:
                    pass
                s.close()


# -- HTTP: serve an ASGI app on loopback and post to it -----------------------------------------

class AsgiServer:
    """uvicorn serving ``app`` on 127.0.0.1 (a free port) in a thread; a context manager."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off", ws="none", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> AsgiServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)


@dataclass
class Reply:
    """An HTTP response and how long it took."""

    status: int
    body: str
    headers: dict[str, str]
    seconds: float


def post(url: str, body: str, headers: dict[str, str]) -> Reply:
    """POST ``body`` to ``url`` (stdlib urllib; HTTP errors are returned, not raised)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            data, status, head = resp.read().decode(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        data, status, head = err.read().decode(), err.code, dict(err.headers)
        err.close()
    return Reply(status, data, {k.lower(): v for k, v in head.items()},
                 time.perf_counter() - start)


# -- a fake answer pipeline whose numbers come from the real estimator ---------------------------

class ScriptedPipeline:
    """Stands in for ``assistant.stream``: tool events, then a Final built from a real estimate.

    ``answer`` overrides the final Answer; ``delay_s`` makes the turn slow; ``error`` makes it raise.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.answer: Any = None
        self.delay_s = 0.0
        self.error: BaseException | None = None

    def __call__(self, message: str, conversation_id: str) -> Any:
        from assistant.events import Answer, Final, Source, ToolFinished, ToolStarted
        from assistant.sizing import estimate_option
        from tools.estimator import estimate

        self.calls.append((message, conversation_id))
        yield ToolStarted(name="estimate_memory", args={"model": "llama-2-13b"})
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
        qlora = estimate(model="llama-2-13b", workload="qlora", gpu="A10")
        yield ToolFinished(name="estimate_memory", result=f"{est.total_gib:.2f} GiB")
        yield ToolStarted(name="search_guide")
        yield ToolFinished(name="search_guide", result="2 passages")
        if self.answer is not None:
            yield Final(answer=self.answer)
            return
        change = "\n".join(f"- {s.change}: {s.total_gib:.2f} GiB" for s in est.suggestions[:2])
        text = (f"**No.** LoRA of {est.model} does not fit on one {est.gpu}: it needs "
                f"{est.total_gib:.2f} GiB per GPU, but only {est.capacity_gib:.2f} GiB are "
                f"usable.\n\n**What to change**\n{change}\n\n**Sources**\n"
                "- [LoRA](knowledge/guide/en/lora.md)")
        yield Final(answer=Answer(
            verdict="no", options=[estimate_option(est), estimate_option(qlora)], answer=text,
            sources=[Source(title="LoRA", path="knowledge/guide/en/lora.md", section="Memory")]))


def measure_ack_latency(n: int = 30, delay_s: float = 2.0) -> str:
    """Ack times of ``n`` mentions and ``n`` slash commands over HTTP while answers take
    ``delay_s`` each (more at once than Bolt's 10 worker threads). Run::

        .venv/bin/python tests/fake_slack.py
    """
    import statistics
    import tempfile
    from pathlib import Path

    from slack_sdk import WebClient

    from ui.slack import SlackSettings, build_asgi_app, build_slack_app

    secret, token = "s" * 32, "xoxb-bench"
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as home:
        pipeline = ScriptedPipeline()
        pipeline.delay_s = delay_s
        app = build_slack_app(SlackSettings(bot_token=token, signing_secret=secret,
                                            home=Path(home)),
                              pipeline=pipeline, client=WebClient(token=token,
                                                                  base_url=fake.api_url))
        form = "application/x-www-form-urlencoded"
        with AsgiServer(build_asgi_app(app)) as server:
            events, commands = [], []
            for i in range(n):
                body = event_body(mention("13B?", ts=f"1700000000.{i:06d}"))
                events.append(post(server.url + "/slack/events", body,
                                   signed_headers(body, secret)).seconds)
                body = command_body("13B?", fake.response_url(f"r{i}"))
                commands.append(post(server.url + "/slack/events", body,
                                     signed_headers(body, secret, content_type=form)).seconds)
            fake.wait_until(lambda: sum(1 for c in fake.calls if any(
                b.get("type") == "actions" for b in c.args.get("blocks", []))) >= 2 * n,
                timeout=n * delay_s + 30, what="all answers")

    def ms(xs: list[float]) -> str:
        return f"median {statistics.median(xs) * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms"

    return (f"app_mention ack: {ms(events)}; /headroom ack: {ms(commands)} "
            f"({n} each, every answer taking {delay_s:g} s)")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    print(measure_ack_latency())
