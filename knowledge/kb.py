"""The knowledge base's operations: build, add, remove, list and search.

The shipped guide (``knowledge/guide/{en,zh}/*.md``) is always in the index; team documents
added with :func:`add` live only in Chroma (the store of record) and are carried over by every
rebuild. All writes go through :func:`knowledge.index.commit` (copy-on-write, content-hash ids).
``chromadb`` and ``numpy`` are imported inside functions so that importing this module is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import snapshot
from .chunking import Chunk
from .config import KbSettings, load_settings
from .embeddings import Embedder, make_embedder
from .errors import KnowledgeError
from .loaders import chroma_corpus, close, forget_corpora, local_corpus, shared_client
from .retrieval import Corpus, Passage, rank
from .shipped import guide_chunks, guide_files, guide_fingerprint

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from .index import CommitResult, Progress, StoredChunk

log = logging.getLogger(__name__)
__all__ = ["AddReport", "SourceInfo", "add", "build", "close", "guide_chunks", "guide_files",
           "list_sources", "remove", "search"]


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document."""

    source: str
    title: str
    kind: str
    lang: str
    chunks: int


@dataclass
class AddReport:
    """Result of :func:`add`: documents indexed, files skipped with the reason, the commit."""

    added: list[tuple[str, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    result: CommitResult | None = None


# ---------------------------------------------------------------- plumbing

def _settings(settings: KbSettings | None) -> KbSettings:
    return settings or load_settings()


@contextmanager
def _client(settings: KbSettings) -> Iterator[ClientAPI]:
    """A Chroma client for one operation: the embedded store is opened and closed around it
    (SQLite locks); a server is reached through the process's shared HTTP client."""
    from .index import open_client

    if settings.chroma_url:
        yield shared_client(settings)
        return
    with open_client(settings) as client:
        yield client


@contextmanager
def _build_lock(settings: KbSettings) -> Iterator[None]:
    """Serialise local builds (one machine); a team server relies on copy-on-write."""
    settings.kb_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(settings.kb_dir / ".build.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _team_chunks(client: ClientAPI, slug: str) -> list[Chunk]:
    """Team-document chunks of the live generation for ``slug``, or, when that backend has
    none yet, of another backend's (so switching backends keeps the team's documents)."""
    from .index import active_name, active_names, get_collection, read_all

    names = [active_name(client, slug)] + list(active_names(client).values())
    for name in names:
        if name:
            try:
                rows = read_all(get_collection(client, name), with_vectors=False)
            except Exception:  # damaged generation: try the next one
                continue
            return [r.chunk for r in rows if r.chunk.kind != "guide"]
    return []


def _commit(settings: KbSettings, embedder: Embedder, client: ClientAPI, chunks: list[Chunk],
            progress: Progress | None, force: bool = False) -> CommitResult:
    from .index import cleanup_orphans, commit

    local = not settings.chroma_url

    def on_ready(name: str, rows: list[StoredChunk]) -> None:
        if local:
            snapshot.write_snapshot(settings.kb_dir, name, [r.id for r in rows],
                                    [r.chunk for r in rows], [list(r.vector) for r in rows])

    result = commit(client, embedder, chunks, progress=progress, force=force, on_ready=on_ready)
    if local:
        folder = settings.kb_dir / "snapshots" / result.collection
        if not result.changed and not folder.is_dir():  # pointer switched, snapshot lost
            from .index import get_collection, read_all

            rows = read_all(get_collection(client, result.collection))
            on_ready(result.collection, rows)
        snapshot.write_pointer(settings.kb_dir, embedder.slug,
                               snapshot.ActivePointer(result.collection, guide_fingerprint()))
        keep = {p.collection for p in (snapshot.read_pointer(settings.kb_dir, f.stem[7:])
                                       for f in settings.kb_dir.glob("active-*.json")) if p}
        snapshot.prune_snapshots(settings.kb_dir, keep)
    cleanup_orphans(client)
    forget_corpora()
    return result


# ---------------------------------------------------------------- public operations

def build(settings: KbSettings | None = None, *, backend: str | None = None, force: bool = False,
          progress: Progress | None = None) -> CommitResult:
    """Index the guide (and carry over team documents); only changed chunks are embedded."""
    settings = _settings(settings)
    return _build(settings, make_embedder(settings, backend), force=force, progress=progress)


def _build(settings: KbSettings, embedder: Embedder, *, force: bool = False,
           progress: Progress | None = None) -> CommitResult:
    with _build_lock(settings), _client(settings) as client:
        team = _team_chunks(client, embedder.slug)
        return _commit(settings, embedder, client, guide_chunks() + team, progress, force)


def add(paths: Iterable[str | Path], settings: KbSettings | None = None, *,
        backend: str | None = None, progress: Progress | None = None) -> AddReport:
    """Ingest team documents; unreadable files are reported in ``errors`` and skipped."""
    from .ingest import ingest_paths

    settings = _settings(settings)
    embedder = make_embedder(settings, backend)
    ingested = ingest_paths(paths)
    report = AddReport(errors=list(ingested.errors))
    if not ingested.documents:
        return report
    new_sources = {d.source for d in ingested.documents}
    with _build_lock(settings), _client(settings) as client:
        kept = [c for c in _team_chunks(client, embedder.slug) if c.source not in new_sources]
        new = [c for d in ingested.documents for c in d.chunks]
        report.result = _commit(settings, embedder, client, guide_chunks() + kept + new,
                                progress)
    report.added = [(d.source, len(d.chunks)) for d in ingested.documents]
    return report


def _matches(stored: str, wanted: str) -> bool:
    if stored == wanted:
        return True
    try:
        return stored == str(Path(wanted).expanduser().resolve())
    except OSError:
        return False


def remove(sources: Sequence[str], settings: KbSettings | None = None, *,
           backend: str | None = None) -> list[str]:
    """Remove team documents by source path; returns the sources removed."""
    settings = _settings(settings)
    embedder = make_embedder(settings, backend)
    guide = guide_chunks()
    guide_hits = [w for w in sources if any(_matches(c.source, w) for c in guide)]
    if guide_hits:
        raise KnowledgeError(f"the shipped guide cannot be removed: {', '.join(guide_hits)}")
    with _build_lock(settings), _client(settings) as client:
        team = _team_chunks(client, embedder.slug)
        gone = sorted({c.source for c in team if any(_matches(c.source, w) for w in sources)})
        missing = [w for w in sources if not any(_matches(g, w) for g in gone)]
        if missing:
            raise KnowledgeError(f"not in the index: {', '.join(missing)} (see `headroom kb list`)")
        kept = [c for c in team if c.source not in gone]
        _commit(settings, embedder, client, guide + kept, None)
    return gone


def list_sources(settings: KbSettings | None = None, *,
                 backend: str | None = None) -> list[SourceInfo]:
    """Every indexed document with its chunk count (building the index if needed)."""
    corpus = _corpus(_settings(settings), make_embedder(_settings(settings), backend))
    info: dict[str, SourceInfo] = {}
    for c in corpus.chunks:
        prev = info.get(c.source)
        count = prev.chunks + 1 if prev else 1
        info[c.source] = SourceInfo(c.source, c.title, c.kind, c.lang, count)
    return sorted(info.values(), key=lambda s: (s.kind != "guide", s.source))


def search(query: str, k: int = 5, *, mode: str = "hybrid", lang: str | None = None,
           kind: str | None = None, settings: KbSettings | None = None,
           backend: str | None = None, progress: Progress | None = None) -> list[Passage]:
    """The ``k`` best distinct sections for ``query``, each with title, section, source and a
    short excerpt (see :class:`knowledge.retrieval.Passage`). Builds the index on first use.

    Args:
        query: The question or keywords, in English or Chinese.
        k: How many passages to return.
        mode: ``hybrid`` (default: dense + BM25 fused), ``dense`` or ``lexical``.
        lang: Only passages in this language (``en`` or ``zh``); default any, preferring the
            query's language when a section exists in both.
        kind: Only ``guide`` or only ``team`` documents.
        settings: KB settings (default: from the environment).
        backend: Embedding backend, ``hash`` (default) or ``openai``.
        progress: Called with (done, total) if the index has to be built first.
    """
    settings = _settings(settings)
    embedder = make_embedder(settings, backend)
    corpus = _corpus(settings, embedder, progress)
    try:
        return rank(corpus, embedder, query, k, mode=mode, lang=lang, kind=kind)
    except ValueError as e:
        raise KnowledgeError(str(e)) from e


# ---------------------------------------------------------------- corpus loading and cache

def _corpus(settings: KbSettings, embedder: Embedder, progress: Progress | None = None) -> Corpus:
    """The corpus to search, building (or updating) the index first when needed."""
    if settings.chroma_url:
        corpus = chroma_corpus(settings, embedder)
        if corpus is None:
            _build(settings, embedder, progress=progress)
            corpus = chroma_corpus(settings, embedder)
    else:
        corpus = local_corpus(settings, embedder)
        if corpus is None:
            try:
                _build(settings, embedder, progress=progress)
            except Exception as e:  # a failed update must not take the old index down
                stale = local_corpus(settings, embedder, allow_stale=True)
                if stale is None:
                    raise
                log.warning("knowledge index not updated (%s); searching the previous one", e)
                return stale
            corpus = local_corpus(settings, embedder) or chroma_corpus(settings, embedder)
    if corpus is None:
        raise KnowledgeError("the knowledge index could not be built; run `headroom kb build`")
    return corpus


