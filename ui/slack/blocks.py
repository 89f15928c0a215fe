"""Answer -> Block Kit messages: verdict first, the fit table, the key suggestion, the answer,
citations with links, notices, and the feedback (and share) buttons.

Every number shown is read from the :class:`~assistant.events.Answer` the pipeline produced.
Long answers are split within Slack's limits: 50 blocks per message, 3000 characters per section
text, 150 per header, and (our own margin) 12,000 characters of text per message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.events import Answer, Option, Source

from .mrkdwn import code_table, escape, plain, split_text, to_mrkdwn, truncate

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_CHARS = 2000
MAX_MESSAGE_CHARS = 12_000
MAX_FALLBACK_CHARS = 3000

ACTION_FEEDBACK_UP = "headroom_feedback_up"
ACTION_FEEDBACK_DOWN = "headroom_feedback_down"
ACTION_SHARE = "headroom_share"

Block = dict[str, Any]

_TEXT = {
    "en": {
        "yes": "✅ Yes, it fits", "no": "❌ No, it does not fit",
        "need_more_info": "❔ I need a little more information",
        "borderline": "⚠️ Borderline: it may just fit", "depends": "🔀 It depends on the model",
        "workload": "workload", "fits": "fits", "needs": "needs/GPU", "usable": "usable/GPU",
        "y": "yes", "n": "no", "suggestion": "Key suggestion", "sources": "Sources",
        "helpful": "👍 Helpful", "unhelpful": "👎 Not helpful", "share": "Share in channel",
        "thinking": "Thinking…", "running": "running", "done": "done", "failed": "failed",
        "continued": "(continued)", "asked": "asked",
        "inference": "inference", "serve": "serving", "full": "full fine-tune",
        "lora": "LoRA", "qlora": "QLoRA",
    },
    "zh": {
        "yes": "✅ 可以，放得下", "no": "❌ 放不下", "need_more_info": "❔ 还需要一些信息",
        "borderline": "⚠️ 临界：可能勉强放得下", "depends": "🔀 取决于具体模型",
        "workload": "任务", "fits": "放得下", "needs": "每卡需要", "usable": "每卡可用",
        "y": "是", "n": "否", "suggestion": "关键建议", "sources": "参考资料",
        "helpful": "👍 有帮助", "unhelpful": "👎 没帮助", "share": "分享到频道",
        "thinking": "思考中…", "running": "运行中", "done": "完成", "failed": "失败",
        "continued": "(续)", "asked": "提问",
        "inference": "推理", "serve": "部署服务", "full": "全量微调",
        "lora": "LoRA", "qlora": "QLoRA",
    },
}
_SUGGESTION_CUE = re.compile(r"^\W*(what to change|to make it fit|怎么改|建议)", re.IGNORECASE)
_SOURCES_HEAD = re.compile(r"^\W*(sources|参考|参考资料)\W*$", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*\S)")


def lang_of(text: str) -> str:
    """``zh`` when the text contains CJK ideographs, else ``en``."""
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def t(lang: str, key: str) -> str:
    """A fixed UI string in ``lang`` (English when the language is not translated)."""
    return _TEXT.get(lang, _TEXT["en"])[key]


@dataclass
class SlackMessage:
    """One Slack message: fallback ``text`` (notifications) and its blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(mrkdwn: str) -> Block:
    return {"type": "context",
            "elements": [{"type": "mrkdwn", "text": truncate(mrkdwn, MAX_CONTEXT_CHARS)}]}


def header(text: str) -> Block:
    return {"type": "header",
            "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": True}}


def sections(mrkdwn: str) -> list[Block]:
    """Section blocks holding ``mrkdwn``, each within the section text limit."""
    return [section(piece) for piece in split_text(mrkdwn, MAX_SECTION_CHARS)]


def _setup(o: Option) -> str:
    gpu = f"{o.num_gpus}× {o.gpu}" if o.gpu else ""
    return " · ".join(p for p in (o.model, gpu) if p)


def fit_table(options: list[Option], lang: str) -> list[Block]:
    """The options the answer weighed, as a caption and an aligned table."""
    if not options:
        return []
    setups = {_setup(o) for o in options}
    shared = len(setups) == 1
    rows = [[t(lang, "workload"), t(lang, "fits"), t(lang, "needs"), t(lang, "usable")]]
    for o in options:
        label = _TEXT.get(lang, _TEXT["en"]).get(o.workload, o.workload)
        if not shared and _setup(o):
            label += f" ({_setup(o)})"
        rows.append([label, t(lang, "y" if o.fits else "n"), f"{o.total_gib:.2f} GiB",
                     f"{o.capacity_gib:.2f} GiB"])
    caption = [context(escape(setups.pop()))] if shared and _setup(options[0]) else []
    return [*caption, section(truncate(code_table(rows), MAX_SECTION_CHARS))]


def key_suggestion(answer: Answer) -> str | None:
    """The first item of the answer's "What to change" list, if it has one."""
    cued = False
    for line in answer.answer.splitlines():
        if _SUGGESTION_CUE.match(line):
            cued = True
            continue
        item = _LIST_ITEM.match(line)
        if cued and item:
            return item.group(1)
        if cued and line.strip():
            cued = False
    return None


def without_sources(md: str) -> str:
    """The answer without its trailing "Sources" list (rendered as linked citations instead)."""
    lines = md.splitlines()
    for i, line in enumerate(lines):
        rest = lines[i + 1:]
        if _SOURCES_HEAD.match(line) and all(_LIST_ITEM.match(r) or not r.strip() for r in rest):
            return "\n".join(lines[:i]).rstrip()
    return md


def source_url(src: Source, docs_url: str | None) -> str | None:
    """A link for a citation: the path itself when it is a URL, else below ``docs_url``."""
    if src.path.startswith(("http://", "https://")):
        return src.path
    if not docs_url:
        return None
    anchor = ""
    if src.section:
        slug = re.sub(r"[^\w\- ]", "", src.section.strip().lower()).replace(" ", "-")
        anchor = f"#{slug}"
    return f"{docs_url.rstrip('/')}/{src.path.lstrip('/')}{anchor}"


def sources_block(sources: list[Source], lang: str, docs_url: str | None) -> list[Block]:
    """The citations, one line each, linked where a URL is known."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for src in sources:
        if (src.path, src.section) in seen:
            continue
        seen.add((src.path, src.section))
        title = src.title
        if src.section and not title.endswith(src.section):
            title += f" § {src.section}"
        label = escape(title)
        url = source_url(src, docs_url)
        lines.append(f"• <{escape(url)}|{label}>" if url else f"• {label} (`{escape(src.path)}`)")
    if not lines:
        return []
    return sections(f"*{t(lang, 'sources')}*\n" + "\n".join(lines))


def feedback_actions(turn_id: str, lang: str, share: bool) -> Block:
    """Feedback buttons (and, on a private answer, the share button)."""
    def button(action_id: str, label: str, style: str | None = None) -> Block:
        b: Block = {"type": "button", "action_id": action_id, "value": turn_id,
                    "text": {"type": "plain_text", "text": label, "emoji": True}}
        if style:
            b["style"] = style
        return b

    elements = [button(ACTION_FEEDBACK_UP, t(lang, "helpful")),
                button(ACTION_FEEDBACK_DOWN, t(lang, "unhelpful"))]
    if share:
        elements.insert(0, button(ACTION_SHARE, t(lang, "share"), "primary"))
    return {"type": "actions", "block_id": f"headroom_turn_{turn_id}", "elements": elements}


def _block_chars(block: Block) -> int:
    if block["type"] == "context":
        return sum(len(e.get("text", "")) for e in block["elements"])
    return len(block.get("text", {}).get("text", ""))


def pack(blocks: list[Block], fallback: str, lang: str,
         tail: Block | None = None) -> list[SlackMessage]:
    """Blocks into messages within the per-message limits; ``tail`` ends the last one."""
    messages: list[SlackMessage] = []
    current: list[Block] = []
    chars = 0
    for block in blocks:
        size = _block_chars(block)
        if current and (len(current) + 1 > MAX_BLOCKS - 1 or chars + size > MAX_MESSAGE_CHARS):
            messages.append(SlackMessage(text="", blocks=current))
            current, chars = [], 0
        current.append(block)
        chars += size
    if tail is not None:
        current.append(tail)
    messages.append(SlackMessage(text="", blocks=current))
    for i, m in enumerate(messages):
        m.text = truncate(fallback, MAX_FALLBACK_CHARS) if i == 0 else t(lang, "continued")
    return messages


_LEADING_VERDICT = re.compile(r"^\s*\*\*[^*\n]{1,80}?[.!?。！？]\*\*\s*")
_NOTE = {"en": "{label} {total} of {cap:.2f} GiB per GPU", "zh": "{label} 每卡 {total} / {cap:.2f} GiB"}


def _figure_option(answer: Answer, sized: list[Option]) -> Option:
    """The option whose figure backs the verdict: for "yes" the first that fits, for "no" the
    nearest miss, for "borderline" the one closest to the limit, for "depends" the largest of the
    method that some fit."""
    ratio = {id(o): o.total_gib / o.capacity_gib for o in sized}
    if answer.verdict == "borderline":
        return min(sized, key=lambda o: abs(ratio[id(o)] - 1.0))
    if answer.verdict == "depends":  # the method some models fit and others do not
        mixed = [o for o in sized if len({x.fits for x in sized if x.workload == o.workload}) == 2]
        return max(mixed or sized, key=lambda o: ratio[id(o)])
    agree = [o for o in sized if o.fits == (answer.verdict == "yes")] or sized
    return agree[0] if answer.verdict == "yes" else min(agree, key=lambda o: ratio[id(o)])


def notification_text(answer: Answer, lang: str) -> str:
    """The message's ``text`` (what a notification shows): the verdict once, then the figure
    behind it from the structured options (:func:`_figure_option`; for "depends" the range from
    the smallest to the largest of that method), or, for an answer without options, its first
    paragraph without the composer's own bold verdict sentence ("**Yes, with QLoRA.**" would
    repeat the header)."""
    head = t(lang, answer.verdict) if answer.verdict else ""
    body = ""
    sized = [o for o in answer.options if o.capacity_gib > 0]
    if head and sized:
        o = _figure_option(answer, sized)
        label = _TEXT.get(lang, _TEXT["en"]).get(o.workload, o.workload)
        total = f"{o.total_gib:.2f}"
        same = [x for x in sized if x.workload == o.workload]
        low = min(same, key=lambda x: x.total_gib)
        if answer.verdict == "depends" and low is not o:
            total = f"{low.total_gib:.2f}–{o.total_gib:.2f}"
        body = " · ".join(p for p in (_NOTE.get(lang, _NOTE["en"]).format(
            label=label, total=total, cap=o.capacity_gib), _setup(o)) if p)
    elif answer.answer.strip():
        lead = answer.answer.strip().split("\n\n")[0]
        body = plain(_LEADING_VERDICT.sub("", lead, count=1) if head else lead)
    sep = "：" if lang == "zh" else ": "
    return truncate(sep.join(p for p in (head, body) if p) or "Headroom", 300)


def render_answer(answer: Answer, *, turn_id: str | None = None, docs_url: str | None = None,
                  share: bool = False, asked_by: str | None = None,
                  question: str | None = None) -> list[SlackMessage]:
    """The answer as one or more Slack messages, in the order they are to be posted."""
    lang = answer.lang if answer.lang in _TEXT else lang_of(answer.answer)
    blocks: list[Block] = []
    if asked_by and question is not None:
        blocks.append(context(f"<@{asked_by}> {t(lang, 'asked')}: {escape(question)}"))
    if answer.verdict:
        blocks.append(header(t(lang, answer.verdict)))
    blocks += fit_table(answer.options, lang)
    suggestion = key_suggestion(answer)
    if suggestion:
        blocks += sections(f"💡 *{t(lang, 'suggestion')}:* {to_mrkdwn(suggestion)}")
    body = to_mrkdwn(without_sources(answer.answer))
    if body:
        blocks += sections(body)
    blocks += sources_block(answer.sources, lang, docs_url)
    if answer.notices:
        blocks.append(context("\n".join(f"ℹ️ {escape(n)}" for n in answer.notices)))
    fallback = notification_text(answer, lang)
    tail = feedback_actions(turn_id, lang, share) if turn_id else None
    return pack(blocks, fallback, lang, tail)


@dataclass
class Progress:
    """The "thinking" message: one line per tool call, updated in place as tools run."""

    lang: str = "en"
    steps: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def started(self, name: str) -> None:
        self.steps.append((name, "running"))

    def finished(self, name: str, ok: bool) -> None:
        status = "done" if ok else "failed"
        for i in range(len(self.steps) - 1, -1, -1):
            if self.steps[i] == (name, "running"):
                self.steps[i] = (name, status)
                return
        self.steps.append((name, status))

    def message(self) -> SlackMessage:
        icon = {"running": "⏳", "done": "✓", "failed": "✗"}
        lines = [f"{icon[s]} `{escape(n)}` {t(self.lang, s)}" for n, s in self.steps[-20:]]
        lines += [f"ℹ️ {escape(n)}" for n in self.notices[-5:]]
        text = f"⏳ {t(self.lang, 'thinking')}"
        blocks = [section(text)]
        if lines:
            blocks.append(context(truncate("\n".join(lines), MAX_CONTEXT_CHARS)))
        return SlackMessage(text=text, blocks=blocks)
