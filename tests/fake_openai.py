"""A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted replies, faults.

Serves ``POST /v1/chat/completions`` (plain JSON, or SSE ``data: {...}`` chunks ending with
``data: [DONE]`` when the request has ``stream: true``; tool-call arguments arrive in fragments)
and ``GET /v1/models``. Every request body is recorded in ``server.requests``.

Each completion request takes the next :class:`Reply` from the queue (``server.enqueue``), or
asks ``server.responder(body)`` when the queue is empty (a function scripting a whole flow).
Faults are replies too: :func:`error` (HTTP status, optional ``Retry-After``), :func:`hang`
(no answer until the client gives up), :func:`malformed` (a body that is not JSON).
``FakeOpenAI(delay_s=0.2)`` makes every completion wait that long before it answers (a slow
model, for load tests; default 0: no delay).

    with FakeOpenAI() as server:
        server.enqueue(tool_call("check_fit", model="13B", gpu="A10"), text("No, ..."))
        ChatOpenAI(base_url=server.url, api_key="sk-test", model="fake-model", ...)
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the fake model (or a fault)."""

    text: str = ""
    tool_calls: tuple[tuple[str, str], ...] = ()  # (name, raw JSON arguments)
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    hang_s: float = 0.0
    malformed: bool = False
    keepalive_s: float = 0.0  # stream only ": keep-alive" comments, one per 0.2 s, this long
    zero_chunks: bool = False  # a 200 event stream with no chunks (llama.cpp, stream + tools)
    repeat_names: bool = False  # repeat id, type and name in every tool-call chunk (llama.cpp)
    word_delay_s: float = 0.0  # wait this long before each streamed word (a dripping stream)


def text(content: str) -> Reply:
    """A plain assistant message (streamed word by word)."""
    return Reply(text=content)


def tool_call(name: str, /, **args: Any) -> Reply:
    """One tool call with JSON arguments."""
    return Reply(tool_calls=((name, json.dumps(args)),))


def tool_calls(*calls: tuple[str, dict[str, Any] | str]) -> Reply:
    """Several tool calls in one message; a ``str`` argument is sent as is (may be broken JSON)."""
    return Reply(tool_calls=tuple((n, a if isinstance(a, str) else json.dumps(a)) for n, a in calls))


def error(status: int, message: str = "fake error", retry_after: float | None = None) -> Reply:
    """An HTTP error with an OpenAI-style error body."""
    headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
    return Reply(text=message, status=status, headers=headers)


def hang(seconds: float = 30.0) -> Reply:
    """Accept the request and send nothing for ``seconds`` (ends early when the server stops)."""
    return Reply(hang_s=seconds)


def keepalive(seconds: float = 60.0) -> Reply:
    """A 200 event stream that sends only ``: keep-alive`` comments (a queued request at a
    gateway) for ``seconds``, and no chunk."""
    return Reply(keepalive_s=seconds)


def zero_chunks() -> Reply:
    """A 200 event stream that ends (``data: [DONE]``) without a single chunk."""
    return Reply(zero_chunks=True)


def malformed() -> Reply:
    """A 200 response whose body (or first SSE chunk) is not valid JSON."""
    return Reply(malformed=True)


Responder = Callable[[dict[str, Any]], Reply]


@dataclass
class FakeOpenAI:
    """The server: ``start()``/``stop()`` or use it as a context manager."""

    responder: Responder | None = None
    delay_s: float = 0.0
    """Seconds every completion request waits before its reply (a slow model)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    queue: deque[Reply] = field(default_factory=deque)
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def enqueue(self, *replies: Reply) -> None:
        """Append replies, answered in order by the next completion requests."""
        self.queue.extend(replies)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        if self.queue:
            return self.queue.popleft()
        if self.responder is not None:
            return self.responder(body)
        return error(500, "fake server: script exhausted")

    @property
    def url(self) -> str:
        """Base URL to give the OpenAI client (ends with ``/v1``)."""
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send(self, code: int, body: bytes, headers: tuple[tuple[str, str], ...] = (),
              ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
            return self._send(200, json.dumps(data).encode())
        self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            return self._send(404, b'{"error": {"message": "no such route"}}')
        body = json.loads(raw)
        self.fake.requests.append(body)
        reply = self.fake.next_reply(body)
        if self.fake.delay_s:
            self.fake._stop.wait(self.fake.delay_s)
        if reply.hang_s:
            self.fake._stop.wait(reply.hang_s)
            self.close_connection = True
            return
        if reply.status != 200:
            err = {"error": {"message": reply.text, "type": "fake", "code": str(reply.status)}}
            return self._send(reply.status, json.dumps(err).encode(), reply.headers)
        if body.get("stream"):
            return self._stream(body, reply)
        if reply.malformed:
            return self._send(200, b'{"id": "chatcmpl-x", "choices": [{"index": 0, "mess')
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{i}_{uuid.uuid4().hex[:6]}", "type": "function",
                 "function": {"name": n, "arguments": a}} for i, (n, a) in enumerate(reply.tool_calls)
            ]
        data = {**_envelope(body, "chat.completion"), "choices": [{
            "index": 0, "message": message,
            "finish_reason": "tool_calls" if reply.tool_calls else "stop"}], "usage": _USAGE}
        self._send(200, json.dumps(data).encode())

    def _stream(self, body: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        env = _envelope(body, "chat.completion.chunk")
        if reply.keepalive_s:
            end = time.monotonic() + reply.keepalive_s
            try:
                while time.monotonic() < end and not self.fake._stop.is_set():
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    self.fake._stop.wait(0.2)
            except OSError:
                pass  # the client gave up
            return
        if reply.zero_chunks:
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            return

        def send(delta: dict[str, Any] | None, finish: str | None = None,
                 usage: dict[str, int] | None = None) -> None:
            chunk: dict[str, Any] = {**env, "choices": [] if delta is None else [
                {"index": 0, "delta": delta, "finish_reason": finish}]}
            if usage is not None:
                chunk["usage"] = usage
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()

        if reply.malformed:
            self.wfile.write(b'data: {"id": "chatcmpl-x", "choices": [{"delta": {"content"\n\n')
            self.wfile.write(b"data: [DONE]\n\n")
            return
        send({"role": "assistant", "content": ""})
        for i, (name, args) in enumerate(reply.tool_calls):
            call_id = f"call_{i}_{uuid.uuid4().hex[:6]}"
            send({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                  "function": {"name": name, "arguments": ""}}]})
            for j in range(0, len(args), 16):
                piece: dict[str, Any] = {"index": i, "function": {"arguments": args[j:j + 16]}}
                if reply.repeat_names:
                    piece.update(id=call_id, type="function")
                    piece["function"]["name"] = name
                send({"tool_calls": [piece]})
        if reply.text:
            words = reply.text.split(" ")
            for k, word in enumerate(words):
                if reply.word_delay_s and self.fake._stop.wait(reply.word_delay_s):
                    return
                send({"content": word + (" " if k < len(words) - 1 else "")})
        send({}, finish="tool_calls" if reply.tool_calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            send(None, usage=_USAGE)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def _envelope(body: dict[str, Any], obj: str) -> dict[str, Any]:
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:8], "object": obj, "created": int(time.time()),
            "model": body.get("model", "fake-model")}


# ---------------------------------------------------------------- a scripted tool-calling flow

def tool_flow(body: dict[str, Any]) -> Reply:
    """A deterministic stand-in for a competent model: on the first call of a turn it calls the
    tools Headroom's own planner would call for the conversation so far; once the results are
    in, it answers by quoting their first lines (so every figure is grounded) and citations."""
    from assistant.ask import merge
    from assistant.offline import plan_calls
    from assistant.parse import parse

    messages = body["messages"]
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    tail = messages[last_user + 1:]
    if not tail:
        state = None
        for m in messages:
            if m["role"] == "user":
                ask = merge(state, parse(str(m["content"])))
                if ask.intent in ("fit", "number", "plan"):
                    state = ask
        calls = plan_calls(ask)
        if not calls:
            return text("Which model and which GPU (and how many) do you mean?")
        return tool_calls(*calls)
    lines = []
    for m in tail:
        if m["role"] == "tool":
            first = str(m["content"]).strip().splitlines()
            lines += [first[0]] if first else []
    return text("Here is what the tools say: " + " ".join(lines))


# ---------------------------------------------------------------- shared test setup

@functools.cache
def shared_kb_settings() -> Any:
    """One knowledge-base index for the whole test session (building it takes seconds); the
    tests' own HEADROOM_HOME stays per test for everything else."""
    from knowledge import load_settings

    home = Path(tempfile.mkdtemp(prefix="headroom-test-kb-"))
    atexit.register(shutil.rmtree, home, True)
    return load_settings({"HEADROOM_HOME": str(home)})


def make_assistant(home: Path, llm_url: str | None = None, **overrides: Any) -> Any:
    """An Assistant with its own conversation store under ``home`` and the shared guide index;
    in LLM mode against ``llm_url`` with short timeouts."""
    from assistant import Assistant
    from assistant.config import Settings
    from assistant.tools import ToolContext

    values: dict[str, Any] = {"home": home, "llm_base_url": llm_url, "llm_model": "fake-model",
                              "llm_api_key": "sk-test", "llm_timeout_s": 2.0, "deadline_s": 20.0}
    values.update(overrides)
    context = ToolContext(kb_settings=shared_kb_settings())
    backend = "llm" if llm_url else "offline"
    return Assistant(Settings(**values), backend=backend, context=context)
