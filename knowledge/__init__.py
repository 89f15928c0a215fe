"""Headroom's knowledge base: the bilingual guide plus team documents, indexed in ChromaDB.

Public API (importing this package is cheap; chromadb loads only when an index is opened)::

    from knowledge import search
    for p in search("what does ZeRO-2 shard?", k=3):
        print(p.citation(), p.excerpt)

``search`` builds the index on first use; ``build``, ``add``, ``remove`` and ``list_sources``
back the ``headroom kb`` commands. Settings come from :func:`knowledge.config.load_settings`.
"""

from __future__ import annotations

from .config import KbSettings, load_settings
from .errors import EmbeddingError, IndexUnavailableError, IngestError, KnowledgeError
from .kb import (
    AddReport,
    SourceInfo,
    add,
    build,
    close,
    guide_chunks,
    guide_files,
    list_sources,
    remove,
    search,
)
from .retrieval import Passage

__all__ = [
    "AddReport",
    "EmbeddingError",
    "IndexUnavailableError",
    "IngestError",
    "KbSettings",
    "KnowledgeError",
    "Passage",
    "SourceInfo",
    "add",
    "build",
    "close",
    "guide_chunks",
    "guide_files",
    "list_sources",
    "load_settings",
    "remove",
    "search",
]
