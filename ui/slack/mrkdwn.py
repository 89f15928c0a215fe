"""Markdown (what the pipeline writes) to Slack ``mrkdwn``, and splitting text within Slack's limits.

Slack's mrkdwn is not Markdown: bold is ``*x*``, italics ``_x_``, links ``<url|text>``, no headings
and no tables, and ``&``, ``<``, ``>`` must be escaped. Tables become aligned code blocks (CJK
characters count as two columns).
"""

from __future__ import annotations

import re
import unicodedata

_FENCE = re.compile(r"^\s*```")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)|<(https?://[^>\s]+)>")
_LOCAL_LINK = re.compile(r"\[([^\]\n]+)\]\((?!https?://)[^)\s]+\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_MARKUP = re.compile(r"\*\*|__|~~|`")
_BOLD_MARK = "\x01"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack's escaping undone (for text users typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(md: str) -> str:
    """Markdown reduced to plain text (headers, fallback text, table cells)."""
    text = _LINK.sub(lambda m: m.group(1) or m.group(3), _LOCAL_LINK.sub(r"\1", md))
    text = _HEADING.sub(r"\1", text)
    return _MARKUP.sub("", text).strip()


def width(text: str) -> int:
    """Display width in a monospace font: wide (CJK) characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` display columns."""
    return text + " " * max(0, columns - width(text))


def code_table(rows: list[list[str]]) -> str:
    """Rows of cells as an aligned, escaped code block."""
    cols = max(len(r) for r in rows)
    rows = [r + [""] * (cols - len(r)) for r in rows]
    widths = [max(width(r[i]) for r in rows) for i in range(cols)]
    lines = ["  ".join(pad(cell, widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    return "```\n" + escape("\n".join(lines)) + "\n```"


def _inline(text: str) -> str:
    """Inline Markdown of one line (outside code spans) to mrkdwn."""
    links: list[str] = []

    def keep_link(m: re.Match[str]) -> str:
        label, url = (m.group(1), m.group(2)) if m.group(2) else (m.group(3), m.group(3))
        links.append(f"<{escape(url)}|{escape(plain(label))}>")
        return f"\x02{len(links) - 1}\x02"

    text = escape(_LINK.sub(keep_link, _LOCAL_LINK.sub(r"\1", text)))
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(1) or m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text).replace(_BOLD_MARK, "*")
    return re.sub("\x02(\\d+)\x02", lambda m: links[int(m.group(1))], text)


def _line(line: str) -> str:
    if _RULE.match(line):
        return ""
    heading = _HEADING.match(line)
    if heading:
        return f"*{escape(plain(heading.group(1)))}*"
    prefix = ""
    quote = _QUOTE.match(line)
    if quote:
        prefix, line = ">", line[quote.end():]
    bullet = _BULLET.match(line)
    if bullet:
        prefix += bullet.group(1) + "• "
        line = line[bullet.end():]
    parts = _CODE_SPAN.split(line)
    return prefix + "".join(escape(p) if p.startswith("`") else _inline(p) for p in parts)


def _table(lines: list[str]) -> str:
    rows = [[plain(c.strip()) for c in ln.strip().strip("|").split("|")]
            for ln in lines if not _TABLE_RULE.match(ln)]
    return code_table(rows)


def to_mrkdwn(md: str) -> str:
    """Markdown to Slack mrkdwn: headings, bold/italics, links, bullets, quotes, code, tables."""
    out: list[str] = []
    table: list[str] = []
    in_code = False
    for line in md.splitlines():
        if table and (in_code or not _TABLE_ROW.match(line)):
            out.append(_table(table))
            table = []
        if _FENCE.match(line):
            in_code = not in_code
            out.append("```")
        elif in_code:
            out.append(escape(line))
        elif _TABLE_ROW.match(line):
            table.append(line)
        else:
            out.append(_line(line))
    if table:
        out.append(_table(table))
    if in_code:
        out.append("```")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """Split mrkdwn into pieces of at most ``limit`` characters at line breaks.

    A piece that ends inside a code block closes it, and the next piece reopens it.
    """
    fence = "```"
    room = limit - len(fence) - 1  # space to close a code block
    if room < 16:
        raise ValueError("limit too small to split text")
    step = room - len(fence) - 1  # a reopened code block plus one line still fits
    lines: list[str] = []
    for line in text.split("\n"):
        lines += [line[i:i + step] for i in range(0, len(line), step)] or [""]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    in_code = False
    for line in lines:
        if current and size + len(line) + 1 > room:
            pieces.append("\n".join(current + ([fence] if in_code else [])))
            current, size = ([fence], len(fence) + 1) if in_code else ([], 0)
        current.append(line)
        size += len(line) + 1
        if line.strip().startswith(fence):
            in_code = not in_code
    if current:
        pieces.append("\n".join(current))
    return [p for p in (p.strip("\n") for p in pieces) if p.strip() and p.strip() != fence]
