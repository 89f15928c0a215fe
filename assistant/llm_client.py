"""The HTTP side of LLM mode, made to work with any OpenAI-compatible server.

- :class:`DeadlineTransport` (httpx): one overall deadline per answer that holds whatever the
  server sends. httpx's read timeout restarts on every byte, so a server that keeps a stream
  open with ``: keep-alive`` comments or drips partial chunks would never time out; this
  transport checks the deadline on every chunk of bytes and caps every timeout at the time
  left. It also retries a 429 or 503 once, after the ``Retry-After`` the server asked for, when
  that wait fits in the time left.
- :func:`make_chat_model`: a ``ChatOpenAI`` subclass that sends assistant tool-call messages
  with ``content: ""`` (llama.cpp's server answers 500 to ``null``), strips the function name,
  id and type that some servers repeat in every streamed tool-call chunk (LangChain would
  concatenate them into ``check_fitcheck_fit``), and repeats a turn without streaming when the
  server rejects streaming with tools or streams nothing (llama.cpp with automatic tool choice
  answers 200 with zero chunks).

LangChain, openai and httpx are imported only when LLM mode runs.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

RETRY_STATUSES = (429, 503)
DEFAULT_RETRY_AFTER_S = 1.0
"""Wait before the one retry when a 429/503 names no ``Retry-After``."""


class DeadlineExceeded(httpx.TimeoutException):
    """The answer's overall deadline passed while a request or a stream was open."""


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _DeadlineStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, deadline: float) -> None:
        self.inner = inner
        self.deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if time.monotonic() > self.deadline:
                raise DeadlineExceeded("the answer's deadline passed while the server was "
                                       "still sending")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class DeadlineTransport(httpx.BaseTransport):
    """Wraps a transport: every request and every response byte is bound by ``deadline``
    (a ``time.monotonic()`` value); one 429/503 retry per answer honours ``Retry-After``."""

    def __init__(self, inner: httpx.BaseTransport, deadline: float) -> None:
        self.inner = inner
        self.deadline = deadline
        self.retried = False
        self.waits: list[float] = []

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the answer's deadline passed before the request was sent")
        return left

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        left = self._left()
        timeout = dict(request.extensions.get("timeout") or {})
        request.extensions["timeout"] = {k: min(v, left) if v is not None else left
                                         for k, v in ({"connect": None, "read": None,
                                                       "write": None, "pool": None}
                                                      | timeout).items()}
        response = self.inner.handle_request(request)
        if response.status_code in RETRY_STATUSES and not self.retried:
            wait = retry_after_s(response.headers.get("retry-after"))
            wait = DEFAULT_RETRY_AFTER_S if wait is None else wait
            if wait < self.deadline - time.monotonic() - 1.0:
                self.retried = True
                response.close()
                self.waits.append(wait)
                time.sleep(wait)
                return self.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _DeadlineStream(response.stream, self.deadline)
        return response

    def close(self) -> None:
        self.inner.close()


def drop_repeated_call_fields(chunk: dict[str, Any], seen: dict[int, dict[str, Any]]) -> None:
    """Blank, in place, the tool-call ``id``, ``type`` and function ``name`` of a streamed chunk
    when they repeat what an earlier chunk of the same call index said (llama.cpp's server
    repeats the name in every chunk; LangChain would concatenate the repeats)."""
    for choice in chunk.get("choices") or []:
        for call in (choice.get("delta") or {}).get("tool_calls") or []:
            first = seen.setdefault(call.get("index") or 0, {})
            fn = call.get("function") or {}
            for key, holder in (("id", call), ("type", call), ("name", fn)):
                value = holder.get(key)
                if value and first.get(key) == value:
                    holder[key] = None  # a repeat, not a continuation
                elif value:
                    first[key] = value


def make_chat_model(**kwargs: Any) -> Any:
    """A ``ChatOpenAI`` (``/chat/completions``) hardened for servers we did not write."""
    import openai
    from langchain_core.messages import AIMessageChunk
    from langchain_core.outputs import ChatGenerationChunk
    from langchain_openai import ChatOpenAI

    class HardenedChatOpenAI(ChatOpenAI):
        """ChatOpenAI with the fixes listed in the module docstring."""

        def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None,
                                 **kw: Any) -> dict[str, Any]:
            payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kw)
            for message in payload.get("messages", []):
                if message.get("role") == "assistant" and message.get("content") is None:
                    message["content"] = ""
            return payload

        def _convert_chunk_to_generation_chunk(self, chunk: dict[str, Any], *args: Any,
                                               **kw: Any) -> Any:
            drop_repeated_call_fields(chunk, self.__dict__.setdefault("_seen_calls", {}))
            return super()._convert_chunk_to_generation_chunk(chunk, *args, **kw)

        def _stream(self, messages: Any, stop: list[str] | None = None,
                    run_manager: Any = None, **kw: Any) -> Iterator[Any]:
            self.__dict__["_seen_calls"] = {}
            if not self.__dict__.get("_no_streaming"):
                got = False
                try:
                    for chunk in super()._stream(messages, stop, run_manager, **kw):
                        got = True
                        yield chunk
                except openai.APIStatusError as e:
                    rejects = e.status_code in (400, 415, 422, 500, 501) and kw.get("tools")
                    if got or not rejects:
                        raise
                    self.__dict__["_no_streaming"] = True
                if got:
                    return
                self.__dict__["_no_streaming"] = True
            yield self._unstreamed(messages, stop, run_manager, **kw)

        def _unstreamed(self, messages: Any, stop: list[str] | None, run_manager: Any,
                        **kw: Any) -> Any:
            """The same turn without streaming, as one chunk."""
            kw.pop("stream", None)
            kw.pop("stream_options", None)
            payload = self._get_request_payload(messages, stop=stop, **kw)
            payload["stream"] = False
            payload.pop("stream_options", None)
            result = self._create_chat_result(self.client.create(**payload))
            gen = result.generations[0]
            msg = gen.message
            calls = [{"name": c["name"], "args": json.dumps(c["args"]), "id": c.get("id"),
                      "index": i} for i, c in enumerate(getattr(msg, "tool_calls", []))]
            calls += [{"name": c.get("name"), "args": c.get("args"), "id": c.get("id"),
                       "index": len(calls) + i}
                      for i, c in enumerate(getattr(msg, "invalid_tool_calls", []))]
            metadata = {**msg.response_metadata, **(gen.generation_info or {})}
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(content=msg.content, tool_call_chunks=calls,
                                       response_metadata=metadata, id=msg.id,
                                       usage_metadata=getattr(msg, "usage_metadata", None)),
                generation_info=gen.generation_info)
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            return chunk

    return HardenedChatOpenAI(**kwargs)
