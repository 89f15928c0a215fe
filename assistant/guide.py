"""Concepts and the guide sections that explain them (``data/concepts.toml``).

``match(text)`` finds the concepts a question names, most specific first; ``section(stem, title,
lang)`` returns that section of the shipped guide in the answer's language (the English and
Chinese pages have the same sections in the same order), read from the packaged Markdown without
touching the index, so a citation always bears on the concept asked about.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .events import Source


@dataclass(frozen=True)
class Concept:
    """A concept: the words that name it, its guide section and a worked example."""

    name: str
    words: re.Pattern[str]
    stem: str
    section: str
    example: dict[str, Any] = field(default_factory=dict)
    needs: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Section:
    """One guide section, ready to quote and cite."""

    title: str
    section: str
    source: str
    text: str

    def as_source(self) -> Source:
        return Source(title=f"{self.title} § {self.section}", path=self.source,
                      section=self.section)


@cache
def concepts() -> tuple[Concept, ...]:
    """Every concept, in the file's order (specific ones first)."""
    raw = tomllib.loads(resources.files("assistant").joinpath("data/concepts.toml")
                        .read_text("utf-8"))
    return tuple(Concept(name=c["name"], words=re.compile(c["words"], re.ASCII), stem=c["stem"],
                         section=c["section"], example=dict(c.get("example", {})),
                         needs=re.compile(c["needs"], re.ASCII) if c.get("needs") else None)
                 for c in raw["concept"])


def match(low: str) -> list[Concept]:
    """The concepts a lower-cased question names, most specific first."""
    return [c for c in concepts() if c.words.search(low) and (c.needs is None or
                                                             c.needs.search(low))]


def by_name(name: str) -> Concept | None:
    """A concept by its name."""
    return next((c for c in concepts() if c.name == name), None)


@cache
def _chunks() -> tuple[Any, ...]:
    try:
        from knowledge import guide_chunks

        return tuple(c for c in guide_chunks() if c.kind == "guide" and c.part == 0)
    except Exception:  # noqa: BLE001 - the guide is optional: no section, no citation
        return ()


def _clean(title: str) -> str:
    return re.sub(r"[\"“”']", "", title).strip().lower()


def section(stem: str, title: str, lang: str) -> Section | None:
    """The section ``title`` (English, a prefix is enough) of guide page ``stem`` in ``lang``."""
    chunks = _chunks()
    en = [c for c in chunks if c.lang == "en" and c.source.endswith(f"/{stem}.md")]
    hit = next((c for c in en if _clean(c.section).startswith(_clean(title))), None)
    if hit is None:
        return None
    if lang != "en":
        hit = next((c for c in chunks if c.lang == lang and c.source.endswith(f"/{stem}.md")
                    and c.ordinal == hit.ordinal), hit)
    return Section(title=hit.title, section=hit.section, source=hit.source, text=hit.text)
