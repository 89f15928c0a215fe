"""The Chat tab's logic (no Gradio import): the answer stream rendered as chat messages.

``respond`` (from :func:`make_respond`) is the ``gr.ChatInterface`` function. It runs the
assistant's event stream for one message and yields the growing list of assistant messages:
one collapsible step per tool call (inputs, result, duration) and the answer, whose guide
citations link to the Guide tab (``?tab=guide&doc=en/qlora.md&section=...``). Messages are
plain dicts in Gradio's messages format, so this module is tested without a browser.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from assistant.events import Answer, Final, Notice, Source, Token, ToolFinished, ToolStarted

from .errors import friendly

StreamFn = Callable[[str, str], Iterable[object]]
Message = dict[str, Any]

EXAMPLES_EN = (
    "Can I fine-tune a 13B model on one A10?",
    "How much memory does Llama 3 8B need to serve 32k context?",
    "What does ZeRO-3 shard, and when do I need it?",
)
EXAMPLES_ZH = (
    "一张 RTX 4090 能用 QLoRA 微调 Qwen2.5 14B 吗？",
    "KV cache 为什么会占这么多显存？",
)
EXAMPLES = EXAMPLES_EN + EXAMPLES_ZH
TITLE_ARGS_CHARS = 70
_GUIDE_LINK = re.compile(
    r"\[([^\]]+)\]\((?:\./)?(?:knowledge/)?guide/(en|zh)/([\w.-]+\.md)(?:#([^)]*))?\)")


def new_conversation_id() -> str:
    """A fresh id for one browser session's conversation."""
    return f"web-{uuid.uuid4().hex[:16]}"


def guide_doc(path: str) -> str | None:
    """``knowledge/guide/en/qlora.md`` -> ``en/qlora.md``; None for other documents."""
    m = re.search(r"guide/(en|zh)/([\w.-]+\.md)$", path.replace("\\", "/"))
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _section_of(label: str) -> str:
    """'QLoRA: ... § What fits where' -> 'What fits where'."""
    return label.rsplit(" § ", 1)[1].strip() if " § " in label else ""


def guide_url(doc: str | None, section: str = "", title: str = "") -> str:
    """The Guide tab's address for a page (and section), or a search when it is no guide page."""
    if doc is None:
        return "?" + urlencode({"tab": "guide", "q": title})
    query = {"tab": "guide", "doc": doc}
    if section:
        query["section"] = section
    return "?" + urlencode(query)


def guide_link(source: Source) -> str:
    """Where a citation points: the section in the Guide tab (a search for other documents)."""
    return guide_url(guide_doc(source.path), source.section or _section_of(source.title),
                     source.title)


def link_guide_paths(markdown: str) -> str:
    """Point Markdown links to guide files (``knowledge/guide/en/x.md``) at the Guide tab."""
    def repl(m: re.Match[str]) -> str:
        label, doc = m.group(1), f"{m.group(2)}/{m.group(3)}"
        return f"[{label}]({guide_url(doc, m.group(4) or _section_of(label))})"

    return _GUIDE_LINK.sub(repl, markdown)


def answer_chart(answer: Answer) -> str:
    """The answer's stacked memory chart as HTML ('' when it weighed no option)."""
    from ui.charts import from_answer

    from .chart_html import chart_html

    data = from_answer(answer)
    return chart_html(data) if data is not None else ""


def with_chart(markdown: str, chart: str) -> str:
    """The chart right after the verdict paragraph (after the understood line, when the answer
    starts with one: an italic ``_Understood: ..._`` / ``_理解为：..._`` line), before the details."""
    if not chart:
        return markdown
    parts = markdown.split("\n\n")
    at = 2 if len(parts) > 1 and parts[0].startswith("_") and parts[0].rstrip().endswith("_") else 1
    return "\n\n".join([*parts[:at], chart, *parts[at:]])


def answer_markdown(answer: Answer) -> str:
    """The final answer with every guide link pointing at the Guide tab, its chart under the
    verdict; sources the text does not already cite are listed below it."""
    cited = answer.answer
    text = with_chart(link_guide_paths(answer.answer.strip()), answer_chart(answer))
    links = []
    for s in answer.sources:
        label = s.title if (" § " in s.title or not s.section) else f"{s.title} § {s.section}"
        if f"]({s.path})" not in cited and label not in cited:
            links.append(f"[{label}]({guide_link(s)})")
    if links:
        text += "\n\n**Sources:** " + " · ".join(dict.fromkeys(links))
    return text


def _short_args(args: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in args.items() if v not in (None, "", [], {}))
    return text if len(text) <= TITLE_ARGS_CHARS else text[: TITLE_ARGS_CHARS - 1] + "…"


@dataclass
class _Step:
    message: Message
    name: str
    call_id: str
    started: float
    done: bool = False


@dataclass
class TurnRenderer:
    """Accumulates one turn's events into Gradio messages."""

    steps: list[_Step] = field(default_factory=list)
    text: str = ""
    notices: list[str] = field(default_factory=list)
    final: Answer | None = None
    clock: Callable[[], float] = time.monotonic

    def feed(self, event: object) -> None:
        """Apply one stream event."""
        if isinstance(event, ToolStarted):
            args = json.dumps(event.args, ensure_ascii=False, default=str)
            msg: Message = {"role": "assistant", "content": f"**Inputs**\n```json\n{args}\n```",
                            "metadata": {"title": f"🔧 {event.name}({_short_args(event.args)})",
                                         "status": "pending", "id": f"step-{len(self.steps)}"}}
            self.steps.append(_Step(msg, event.name, event.call_id, self.clock()))
        elif isinstance(event, ToolFinished):
            step = self._pending(event.name, event.call_id)
            if step is None:  # a result without a start: show it anyway
                self.feed(ToolStarted(event.name, {}, event.call_id))
                step = self.steps[-1]
            result = link_guide_paths(event.result.strip()) or "(no output)"
            step.message["content"] += f"\n\n**Result**\n\n{result}"
            meta = step.message["metadata"]
            meta.update(status="done", duration=round(self.clock() - step.started, 3))
            if not event.ok:
                meta["title"] = "⚠️ " + meta["title"].removeprefix("🔧 ") + " failed"
            step.done = True
        elif isinstance(event, Token):
            self.text += event.text
        elif isinstance(event, Notice):
            self.notices.append(event.text)
        elif isinstance(event, Final):
            self.final = event.answer

    def _pending(self, name: str, call_id: str) -> _Step | None:
        for step in reversed(self.steps):
            if not step.done and (step.call_id == call_id if call_id else step.name == name):
                return step
        return None

    def fail(self, exc: BaseException) -> None:
        """Show an error in place of (or after) the answer."""
        self.text += f"\n\n**⚠️ {friendly(exc)}**"
        for step in self.steps:
            if not step.done:
                step.message["metadata"]["status"] = "done"

    def messages(self) -> list[Message]:
        """The assistant messages of this turn so far (copies: later events do not change them)."""
        out = [{**s.message, "metadata": dict(s.message["metadata"])} for s in self.steps]
        body = answer_markdown(self.final) if self.final is not None else self.text
        notes = "\n".join(f"> ℹ️ {n}" for n in self.notices)
        content = "\n\n".join(p for p in (notes, body.strip()) if p)
        if content:
            out.append({"role": "assistant", "content": content})
        return out


def make_respond(stream: StreamFn) -> Callable[..., Iterator[tuple[list[Message], str]]]:
    """The ChatInterface function: (message, history, conversation_id) -> (messages, id)."""

    def respond(message: str, history: list[Message], conversation_id: str | None
                ) -> Iterator[tuple[list[Message], str]]:
        conv = conversation_id or new_conversation_id()
        turn = TurnRenderer()
        if not (message or "").strip():
            yield [{"role": "assistant", "content": "Ask a question about GPU memory, e.g. "
                    f"“{EXAMPLES_EN[0]}”"}], conv
            return
        try:
            for event in stream(message, conv):
                turn.feed(event)
                yield turn.messages(), conv
        except Exception as e:  # noqa: BLE001 - shown in the chat, logged by friendly()
            turn.fail(e)
        yield turn.messages(), conv

    return respond


def message_text(value: Any) -> str:
    """The text of a liked message as Gradio reports it (str, dict or list of parts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return message_text(value.get("content", value.get("value", "")))
    if isinstance(value, list | tuple):
        return "\n".join(message_text(v) for v in value)
    return "" if value is None else str(value)
