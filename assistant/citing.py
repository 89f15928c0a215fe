"""Answers from the guide: explanations built from retrieved sections, and citation lists."""

from __future__ import annotations

import re
from typing import Any

from .events import Source
from .strings import T


def citations(sources: list[Source], lang: str) -> str:
    """The sources as a Markdown list (empty when there are none)."""
    if not sources:
        return ""
    return "\n\n" + T[lang]["sources"] + "\n" + "\n".join(
        f"- [{s.title}]({s.path})" for s in sources)


def _lead(text: str, limit: int = 1200) -> str:
    """The first paragraphs of a guide section (tables included), up to ``limit`` characters."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text.strip()):
        if out and sum(len(p) for p in out) + len(para) > limit:
            break
        out.append(para.strip())
    return "\n\n".join(out)


def _prose(text: str, limit: int = 240) -> str:
    """The first prose sentences of a section (no tables, headings or code), links as text."""
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.lstrip().startswith(("|", "#", "```"))]
    flat = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", " ".join(lines))
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", flat):
        if out and len(out) + len(sentence) > limit:
            break
        out += sentence + ("" if re.search(r"[。！？]$", sentence) else " ")
    return out.strip()


def explanation(passages: list[Any], lang: str) -> str:
    """An answer built from guide passages: the best section, then pointers to the others."""
    if not passages:
        return T[lang]["noguide"]
    first, rest = passages[0], passages[1:]
    lines = [T[lang]["guide"].format(section=first.section, title=first.title), "",
             _lead(first.text)]
    if rest:
        lines += ["", T[lang]["see_also"]]
        lines += [f"- **{p.section}**" + ("" if p.section == p.title else f" ({p.title})")
                  + f": {_prose(p.text)}" for p in rest]
    sources = [Source(title=f"{p.title} § {p.section}", path=p.source) for p in passages]
    return "\n".join(lines) + citations(sources, lang)
