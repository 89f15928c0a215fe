"""Readers for team documents: Markdown, plain text, HTML and PDF, turned into chunks.

``ingest_paths`` expands directories (recursively, supported suffixes only), reads each file
and returns the documents it could read plus one ``(path, reason)`` line per file it could not:
a bad file never stops the others. Text files are decoded as UTF-8, then GB18030 (common for
Chinese documents). PDF needs the optional ``pypdf`` package; a scanned PDF with no text layer
is reported, not indexed empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .chunking import Chunk, chunk_markdown, split_long
from .errors import IngestError
from .textnorm import detect_lang

SUFFIXES = {
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".rst": "text",
    ".html": "html", ".htm": "html", ".pdf": "pdf",
}
MAX_BYTES = 50 * 1024 * 1024


@dataclass
class Document:
    """A readable file and its chunks."""

    source: str
    title: str
    chunks: list[Chunk]


@dataclass
class IngestReport:
    """What was read and what was skipped (with the reason)."""

    documents: list[Document] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise IngestError("binary file, not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError("not valid UTF-8 or GB18030 text")


def read_markdown(path: Path, source: str) -> Document:
    text = _decode(path.read_bytes())
    chunks = chunk_markdown(text, source, kind="team")
    title = chunks[0].title if chunks else path.stem
    return Document(source, title, chunks)


def read_text(path: Path, source: str) -> Document:
    text = _decode(path.read_bytes()).strip()
    first = text.splitlines()[0].strip() if text else ""
    title = first if 0 < len(first) <= 120 else path.stem
    chunks = [
        Chunk(text=piece, title=title, section_path=(title,), source=source,
              lang=detect_lang(piece), kind="team", part=i)
        for i, piece in enumerate(split_long(text, 1800))
    ]
    return Document(source, title, chunks)


class _HtmlToMarkdown(HTMLParser):
    """Headings become Markdown headings; script/style/nav are dropped; the rest is text."""

    _SKIP = {"script", "style", "noscript", "nav", "header", "footer", "svg", "template"}
    _BLOCK = {"p", "div", "li", "tr", "br", "pre", "section", "article", "table", "ul", "ol",
              "blockquote", "dd", "dt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            self.out.append(data.replace("\n", " ") if data.strip() else "")


def read_html(path: Path, source: str) -> Document:
    parser = _HtmlToMarkdown()
    parser.feed(_decode(path.read_bytes()))
    parser.close()
    markdown = "\n".join(line.strip() for line in "".join(parser.out).splitlines())
    title = parser.title or None
    chunks = chunk_markdown(markdown, source, kind="team", title=title)
    return Document(source, chunks[0].title if chunks else (title or path.stem), chunks)


def read_pdf(path: Path, source: str) -> Document:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as e:
        raise IngestError("PDF support needs pypdf: pip install 'headroom[kb]'") from e
    try:
        reader = PdfReader(str(path))
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise IngestError(f"unreadable PDF ({type(e).__name__}: {e})") from e
    title = str(meta_title).strip() or path.stem
    chunks: list[Chunk] = []
    for number, text in enumerate(pages, start=1):
        for i, piece in enumerate(split_long(text, 1800) if text else []):
            chunks.append(Chunk(text=piece, title=title, section_path=(title, f"page {number}"),
                                source=source, lang=detect_lang(piece), kind="team",
                                ordinal=number, part=i))
    return Document(source, title, chunks)


READERS = {"markdown": read_markdown, "text": read_text, "html": read_html, "pdf": read_pdf}


def _expand(paths: Iterable[str | Path]) -> Iterable[tuple[Path, str | None]]:
    """Files to read; a directory yields its supported files, a bad path yields an error."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUFFIXES:
                    yield child, None
        elif path.is_file():
            yield path, None
        else:
            yield path, "no such file or directory"


def ingest_file(path: Path) -> Document:
    """Read one file; raise :class:`IngestError` with the reason when it cannot be used."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'!r}; "
                          f"use {', '.join(sorted(SUFFIXES))}")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise IngestError(f"larger than {MAX_BYTES // 2**20} MiB")
        doc = READERS[kind](path, str(path.resolve()))
    except OSError as e:
        raise IngestError(f"cannot read: {e.strerror or e}") from e
    if not doc.chunks:
        raise IngestError("no text found" + (" (scanned PDF?)" if kind == "pdf" else ""))
    return doc


def ingest_paths(paths: Iterable[str | Path]) -> IngestReport:
    """Read every file under ``paths``; unreadable ones go to ``report.errors``."""
    report = IngestReport()
    for path, problem in _expand(paths):
        if problem:
            report.errors.append((str(path), problem))
            continue
        try:
            report.documents.append(ingest_file(path))
        except IngestError as e:
            report.errors.append((str(path), str(e)))
    return report
