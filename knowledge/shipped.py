"""The shipped guide: ``knowledge/guide/{en,zh}/*.md``, its chunks and its fingerprint.

Every guide page exists in English and Chinese with the same file name and the same ``##``
sections; chunks carry the repository-relative path as their citation source.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .chunking import Chunk, chunk_markdown

GUIDE_DIR = Path(__file__).parent / "guide"
LANGS = ("en", "zh")


def guide_files() -> list[Path]:
    """The guide's Markdown files, English then Chinese, sorted by name."""
    return [p for lang in LANGS for p in sorted((GUIDE_DIR / lang).glob("*.md"))]


def guide_source(path: Path) -> str:
    """Repository-relative path used as the citation source of a guide file."""
    return f"knowledge/guide/{path.parent.name}/{path.name}"


def guide_fingerprint() -> str:
    """Hash of the guide's files: changes whenever the shipped guide changes."""
    h = hashlib.sha256()
    for path in guide_files():
        h.update(guide_source(path).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:24]


def guide_chunks() -> list[Chunk]:
    """Chunks of every guide page."""
    return [chunk for path in guide_files()
            for chunk in chunk_markdown(path.read_text("utf-8"), guide_source(path),
                                        lang=path.parent.name, kind="guide")]
