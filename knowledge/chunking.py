"""Split Markdown into section chunks with title, section path, language and source.

One chunk per heading (``##``, ``###`` ...; the text before the first ``##`` is the
"overview" chunk of the ``#`` title). A section longer than ``max_chars`` is split at paragraph
boundaries into parts. Headings inside fenced code blocks are ignored. A chunk's id is a
content hash of its source, section path, part and text, so an unchanged section keeps its id
across builds and only edited sections are re-embedded.

``ordinal`` is the index of the chunk's top-level (``##``) section in its file, with 0 for the
overview. The English and Chinese guide pages have the same sections in the same order, so
``section_key`` (``guide/<topic>#<ordinal>``) names the same section in both languages.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from .textnorm import detect_lang

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
DEFAULT_MAX_CHARS = 1800


@dataclass(frozen=True)
class Chunk:
    """One retrievable section (or part of a long section) of a document."""

    text: str
    title: str
    section_path: tuple[str, ...]
    source: str
    lang: str
    kind: str = "guide"
    ordinal: int = 0
    part: int = 0

    @property
    def section(self) -> str:
        """The innermost heading (the title itself for the overview chunk)."""
        return self.section_path[-1] if self.section_path else self.title

    @property
    def section_key(self) -> str:
        """Same value for the same section of the en and zh guide pages."""
        if self.kind == "guide":
            return f"guide/{PurePosixPath(self.source).stem}#{self.ordinal}"
        return f"{self.source}#{' > '.join(self.section_path)}"

    @property
    def id(self) -> str:
        """Content hash: stable while source, section path, part and text are unchanged."""
        h = hashlib.sha256()
        for piece in (self.source, "\x1f".join(self.section_path), str(self.part), self.text):
            h.update(piece.encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()[:32]

    def embed_text(self) -> str:
        """One string for embedding backends that take plain text: heading path, then body."""
        return " / ".join(self.section_path) + "\n" + self.text

    def fields(self) -> dict[str, str]:
        """Title, headings below the title, and body, for fielded ranking."""
        return {"title": self.title, "heading": " ".join(self.section_path[1:]),
                "body": self.text}

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for Chroma (str/int values only)."""
        return {
            "title": self.title,
            "section": self.section,
            "section_path": " > ".join(self.section_path),
            "source": self.source,
            "lang": self.lang,
            "kind": self.kind,
            "ordinal": self.ordinal,
            "part": self.part,
            "section_key": self.section_key,
        }

    @classmethod
    def from_metadata(cls, text: str, meta: dict[str, object]) -> Chunk:
        """Rebuild a chunk from stored text and :meth:`metadata`."""
        path = str(meta.get("section_path", ""))
        return cls(
            text=text,
            title=str(meta.get("title", "")),
            section_path=tuple(path.split(" > ")) if path else (),
            source=str(meta.get("source", "")),
            lang=str(meta.get("lang", "en")),
            kind=str(meta.get("kind", "team")),
            ordinal=int(str(meta.get("ordinal", 0))),
            part=int(str(meta.get("part", 0))),
        )


def split_long(text: str, max_chars: int) -> list[str]:
    """Split ``text`` at blank lines (then lines) into pieces of at most ~``max_chars``."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for para in re.split(r"\n\s*\n", text):
        units = [para] if len(para) <= max_chars else para.splitlines()
        for unit in units:
            while len(unit) > max_chars:  # a single huge line
                head, unit = unit[:max_chars], unit[max_chars:]
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(head)
            if current and len(current) + len(unit) + 2 > max_chars:
                pieces.append(current)
                current = ""
            current = f"{current}\n\n{unit}" if current else unit
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def _sections(markdown: str) -> tuple[str, list[tuple[int, str, list[str]]]]:
    """The ``#`` title and a list of (level, heading, body lines); level 1 is the preamble."""
    title = ""
    sections: list[tuple[int, str, list[str]]] = [(1, "", [])]
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING_RE.match(line)
        if m is None:
            sections[-1][2].append(line)
            continue
        level, heading = len(m.group(1)), m.group(2).strip()
        if level == 1 and not title:
            title = heading
            continue
        sections.append((max(level, 2), heading, []))
    return title, sections


def chunk_markdown(markdown: str, source: str, *, lang: str | None = None, kind: str = "guide",
                   title: str | None = None, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Chunks of a Markdown document, one per heading (long sections split into parts).

    ``lang`` fixes the language of every chunk; without it each chunk's is detected, so a
    document with English and Chinese sections is indexed as both.
    """
    found_title, sections = _sections(markdown)
    doc_title = title or found_title or PurePosixPath(source).stem
    chunks: list[Chunk] = []
    stack: list[tuple[int, str]] = []
    ordinal = 0
    seen: set[str] = set()
    for level, heading, lines in sections:
        if heading:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
            if level == 2:
                ordinal += 1
        body = "\n".join(lines).strip()
        if not body:
            continue
        path = (doc_title, *(h for _, h in stack))
        for part, piece in enumerate(split_long(body, max_chars)):
            chunk_lang = lang or detect_lang(f"{path[-1]}\n{piece}")
            chunk = Chunk(text=piece, title=doc_title, section_path=path, source=source,
                          lang=chunk_lang, kind=kind, ordinal=ordinal, part=part)
            if chunk.id not in seen:
                seen.add(chunk.id)
                chunks.append(chunk)
    return chunks
