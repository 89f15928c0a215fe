"""LLM mode: a LangChain 1.x tool-calling agent over ``ChatOpenAI`` (any OpenAI-compatible
endpoint), streaming tokens and tool events. LangChain is imported only here, inside functions.

``run_agent`` is a generator: it yields :mod:`assistant.events` and returns the model's final
text. Every fault ends in :class:`LlmFailure` (timeouts, HTTP errors, rate limits, malformed or
unknown tool calls, endless tool loops, the overall deadline) so the pipeline can fall back to
the offline answer; the request timeout, the model-call limit and the deadline bound the time.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Generator, Iterator, Sequence
from importlib import resources
from typing import Any

from .checked import placeholder_help
from .config import Settings
from .events import Event, Token, ToolFinished, ToolStarted
from .memory import Turn
from .tools import TOOLS, Toolbox


class LlmFailure(Exception):
    """The LLM run cannot give an answer; ``kind`` says why, the message says it to the user."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


def instructions() -> str:
    """The system prompt (``assistant/instructions.md``)."""
    return resources.files("assistant").joinpath("instructions.md").read_text("utf-8")


def classify(exc: BaseException, timeout_s: float) -> LlmFailure:
    """Turn an exception from the OpenAI client or LangGraph into a failure with a reason."""
    import openai
    from langgraph.errors import GraphRecursionError

    if isinstance(exc, LlmFailure):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return LlmFailure("timeout", f"no answer within {timeout_s:g} s")
    if isinstance(exc, openai.RateLimitError):
        after = exc.response.headers.get("retry-after")
        return LlmFailure("rate_limit", "rate limited" + (f" (retry after {after} s)" if after else ""))
    if isinstance(exc, openai.APIStatusError):
        return LlmFailure("http", f"HTTP {exc.status_code} from the endpoint")
    if isinstance(exc, openai.APIConnectionError):
        return LlmFailure("connection", "cannot reach the endpoint")
    if isinstance(exc, GraphRecursionError):
        return LlmFailure("loop", "too many tool rounds")
    if isinstance(exc, (ValueError, openai.APIResponseValidationError)):
        return LlmFailure("malformed", f"malformed response ({type(exc).__name__})")
    return LlmFailure("error", f"{type(exc).__name__}: {exc}")


def _langchain_tools(box: Toolbox, names: Sequence[str]) -> list[Any]:
    from langchain_core.tools import StructuredTool

    out = []
    for spec in TOOLS:
        if spec.name not in names:
            continue

        def run(_name: str = spec.name, **kwargs: Any) -> str:
            result = box.call(_name, kwargs)
            names = placeholder_help([result])
            return f"{result.text}\n\n{names}" if names else result.text

        out.append(StructuredTool.from_function(func=run, name=spec.name,
                                                description=spec.description,
                                                args_schema=spec.args))
    return out


def _messages(history: Sequence[Turn], message: str) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage

    msgs: list[Any] = [HumanMessage(t.content) if t.role == "user" else AIMessage(t.content)
                       for t in history]
    return [*msgs, HumanMessage(message)]


def _check_calls(ai: Any, raw: dict[int, str], box: Toolbox, retries_left: int) -> int:
    """Refuse unknown tools and arguments that are not valid JSON; arguments that do not fit
    the tool's schema are let through ``retries_left`` times (the tools node returns the
    validation error to the model, which may correct itself), then refused. Returns how many
    retries are left."""
    if getattr(ai, "invalid_tool_calls", None):
        raise LlmFailure("malformed", "a tool call the client could not parse")
    for text in raw.values():
        try:
            json.loads(text or "{}")
        except ValueError:
            raise LlmFailure("malformed", "tool-call arguments that are not JSON") from None
    invalid = []
    for call in ai.tool_calls:
        try:
            box.validate(call["name"], call["args"])
        except KeyError:
            raise LlmFailure("unknown_tool", f"the model called an unknown tool {call['name']!r}"
                             ) from None
        except ValueError as e:
            invalid.append(f"invalid arguments for {call['name']}: {str(e).splitlines()[0]}")
    if invalid and retries_left <= 0:
        raise LlmFailure("malformed", invalid[0])
    return retries_left - 1 if invalid else retries_left


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _Turn:
    """What one streamed agent turn has seen so far."""

    def __init__(self, box: Toolbox, limit: int) -> None:
        self.box = box
        self.limit = limit
        self.calls = 0
        self.raw: dict[int, str] = {}
        self.final = ""
        self.schema_retries = 1

    def on_message(self, data: Any) -> Iterator[Event]:
        """A streamed message: token chunks (with tool-call fragments) or a tool result."""
        from langchain_core.messages import AIMessageChunk, ToolMessage

        msg, _meta = data
        if isinstance(msg, AIMessageChunk):
            if msg.text:
                yield Token(msg.text)
            for chunk in msg.tool_call_chunks:
                idx = chunk.get("index") or 0
                self.raw[idx] = self.raw.get(idx, "") + (chunk.get("args") or "")
        elif isinstance(msg, ToolMessage):
            text = str(msg.content)
            yield ToolFinished(msg.name or "", text, ok=not text.startswith("Error"),
                               call_id=msg.tool_call_id)

    def on_update(self, data: Any) -> Iterator[Event]:
        """A node finished: check the model's tool calls before the tools node runs them."""
        for node, update in data.items():
            if node != "model" or not isinstance(update, dict):
                continue
            ai = update["messages"][-1]
            self.calls += 1
            self.schema_retries = _check_calls(ai, self.raw, self.box, self.schema_retries)
            self.raw = {}
            if ai.tool_calls and self.calls >= self.limit:
                raise LlmFailure("loop", f"still calling tools after {self.calls} model calls")
            for call in ai.tool_calls:
                yield ToolStarted(call["name"], dict(call["args"]), call.get("id") or "")
            if not ai.tool_calls:
                if not (ai.response_metadata or {}).get("finish_reason"):
                    # an OpenAI-compatible stream ends with a finish_reason; none means it was cut
                    raise LlmFailure("cut", "the model's reply stopped mid-stream")
                self.final = ai.text


def run_agent(settings: Settings, message: str, history: Sequence[Turn], box: Toolbox,
              tool_names: Sequence[str]) -> Generator[Event, None, str]:
    """Run one turn of the agent; yields events, returns the final text (raises LlmFailure)."""
    try:
        import httpx
        from langchain.agents import create_agent

        from .llm_client import DeadlineTransport, make_chat_model
    except ImportError as e:
        raise LlmFailure("unavailable", f"LLM mode needs the 'agent' extra ({e.name} missing)"
                         ) from None
    # our own client, so that it is closed below; the TLS context is loaded once per process.
    # The transport holds one deadline for the whole answer, whatever the server sends.
    deadline = time.monotonic() + settings.deadline_s
    transport = DeadlineTransport(httpx.HTTPTransport(verify=_tls_context()), deadline)
    http = httpx.Client(timeout=settings.llm_timeout_s, transport=transport)
    turn = _Turn(box, settings.max_model_calls)
    try:
        llm = make_chat_model(model=settings.llm_model, base_url=settings.llm_base_url,
                              api_key=settings.llm_api_key or "not-needed",
                              use_responses_api=False, streaming=True, max_retries=0,
                              timeout=settings.llm_timeout_s, http_client=http,
                              max_tokens=settings.llm_max_tokens)
        agent: Any = create_agent(llm, tools=_langchain_tools(box, tool_names),
                                  system_prompt=instructions())
        stream = agent.stream({"messages": _messages(history, message)},
                              {"recursion_limit": 2 * settings.max_model_calls + 3},
                              stream_mode=["messages", "updates"], version="v2")
        try:
            for part in stream:
                if time.monotonic() > deadline:
                    raise LlmFailure("deadline", f"no answer within {settings.deadline_s:g} s")
                handler = turn.on_message if part["type"] == "messages" else turn.on_update
                yield from handler(part["data"])
        finally:
            stream.close()
    except Exception as e:
        if time.monotonic() >= deadline and not isinstance(e, LlmFailure):
            raise LlmFailure("deadline", f"no answer within {settings.deadline_s:g} s") from e
        raise classify(e, settings.llm_timeout_s) from e
    finally:
        http.close()
    if not turn.final.strip():
        raise LlmFailure("empty", "the model returned no answer")
    return turn.final
