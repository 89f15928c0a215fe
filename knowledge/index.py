"""The Chroma side: clients, the active-collection pointer and copy-on-write builds.

Layout in Chroma (embedded ``PersistentClient`` under ``$HEADROOM_HOME/kb/chroma``, or a team
server through ``HttpClient`` when ``HEADROOM_CHROMA_URL`` is set):

* ``headroom-kb-pointer``: an empty collection whose metadata maps ``active:<embedder slug>``
  to the name of the live collection for that embedding backend.
* ``headroom-kb-<slug>-<random>``: one generation of the index. Ids are chunk content hashes.

A build never edits the live collection. It creates a new generation, copies the vectors of
unchanged chunks from the live one (no re-embedding), embeds only new or edited chunks, marks
the generation ready, then switches the pointer and drops the old generation. A build that
fails or is killed leaves the pointer on the previous, complete generation; its half-built
collection is an orphan that the next build deletes. Vectors are always computed by us and
passed explicitly, so Chroma's default embedding function (which downloads a model) never runs.
"""

from __future__ import annotations

import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings

from .chunking import Chunk
from .config import KbSettings
from .embeddings import Embedder, embed_chunks
from .errors import IndexUnavailableError

PREFIX = "headroom-kb-"
POINTER = "headroom-kb-pointer"
BATCH = 64
ORPHAN_GRACE_S = 600.0
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored in a generation, with its vector."""

    id: str
    chunk: Chunk
    vector: Sequence[float]


@dataclass(frozen=True)
class CommitResult:
    """What a build did."""

    collection: str
    total: int
    embedded: int
    reused: int
    removed: int
    changed: bool


def _check_server(settings: KbSettings) -> tuple[str, int, bool]:
    """Host, port and TLS of the configured server, after a heartbeat.

    Checked with urllib before chromadb builds a client, because a client whose first request
    fails leaks its HTTP session.
    """
    host, port, ssl = settings.chroma_host_port()
    url = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
    with urllib.request.urlopen(url, timeout=10) as reply:
        reply.read()
    return host, port, ssl


def connect(settings: KbSettings) -> ClientAPI:
    """A Chroma client for ``settings``; the caller closes it."""
    chroma_settings = Settings(anonymized_telemetry=False)
    where = settings.chroma_url or str(settings.kb_dir / "chroma")
    try:
        if settings.chroma_url:
            host, port, ssl = _check_server(settings)
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
        path = settings.kb_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as e:  # connection and configuration errors come in many types
        reason = getattr(e, "reason", None) or e
        raise IndexUnavailableError(f"cannot open Chroma at {where}: {reason}") from e


def close_client(client: ClientAPI) -> None:
    """Close a client (releases SQLite handles or HTTP connections).

    chromadb 1.5's ``Client.close()`` stops the Systems behind a client and its internal admin
    client, but an HTTP client's ``httpx.Client`` sessions stay open (a socket leak in
    long-lived processes); close those too once their System is released.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    owners = [client, getattr(client, "_admin_client", None)]
    held = [(getattr(o, "_identifier", None), getattr(o, "_server", None)) for o in owners]
    close = getattr(client, "close", None)
    if callable(close):
        close()
    for identifier, server in held:
        session = getattr(server, "_session", None)
        if identifier not in SharedSystemClient._identifier_to_system and session is not None:
            session.close()


@contextmanager
def open_client(settings: KbSettings) -> Iterator[ClientAPI]:
    """A Chroma client for ``settings``, closed on exit."""
    client = connect(settings)
    try:
        yield client
    finally:
        close_client(client)


def _pointer(client: ClientAPI) -> Collection:
    return client.get_or_create_collection(POINTER, embedding_function=None,
                                           metadata={"headroom:role": "pointer"})


def active_name(client: ClientAPI, slug: str) -> str | None:
    """Name of the live generation for ``slug``, if any."""
    meta = _pointer(client).metadata or {}
    name = meta.get(f"active:{slug}")
    return str(name) if name else None


def active_names(client: ClientAPI) -> dict[str, str]:
    """All live generations, by embedder slug."""
    meta = _pointer(client).metadata or {}
    return {k.removeprefix("active:"): str(v) for k, v in meta.items() if k.startswith("active:")}


def _set_active(client: ClientAPI, slug: str, name: str) -> None:
    pointer = _pointer(client)
    meta: dict[str, Any] = dict(pointer.metadata or {})
    meta[f"active:{slug}"] = name
    pointer.modify(metadata=meta)


def get_collection(client: ClientAPI, name: str) -> Collection:
    return client.get_collection(name, embedding_function=None)


def read_all(collection: Collection, with_vectors: bool = True) -> list[StoredChunk]:
    """Every chunk of a generation (with vectors unless ``with_vectors`` is False)."""
    include: list[Any] = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
    got = collection.get(include=include)
    docs = got.get("documents") or []
    metas = got.get("metadatas") or []
    vectors = got.get("embeddings")
    out = []
    for i, cid in enumerate(got["ids"]):
        vec = cast(Sequence[float], vectors[i]) if with_vectors and vectors is not None else []
        out.append(StoredChunk(cid, Chunk.from_metadata(docs[i] or "", dict(metas[i] or {})), vec))
    return out


def cleanup_orphans(client: ClientAPI, grace_s: float = ORPHAN_GRACE_S) -> list[str]:
    """Delete generations no pointer names (after ``grace_s``, so a build in flight survives)."""
    live = set(active_names(client).values())
    removed = []
    now = time.time()
    for col in client.list_collections():
        name = col.name
        if not name.startswith(PREFIX) or name == POINTER or name in live:
            continue
        started = float((col.metadata or {}).get("headroom:started", 0) or 0)
        if now - started >= grace_s:
            client.delete_collection(name)
            removed.append(name)
    return removed


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def commit(client: ClientAPI, embedder: Embedder, chunks: Sequence[Chunk], *,
           progress: Progress | None = None, force: bool = False,
           on_ready: Callable[[str, list[StoredChunk]], None] | None = None) -> CommitResult:
    """Make the live generation hold exactly ``chunks`` (see module docstring).

    ``on_ready(name, rows)`` runs after the new generation is complete and before the pointer
    switches (used to write the local snapshot). ``force`` re-embeds everything.
    """
    slug = embedder.slug
    desired: dict[str, Chunk] = {}
    for c in chunks:
        desired.setdefault(c.id, c)
    old_name = active_name(client, slug)
    existing: dict[str, StoredChunk] = {}
    if old_name:
        try:
            existing = {s.id: s for s in read_all(get_collection(client, old_name))}
        except Exception:  # a damaged/missing generation: rebuild from scratch
            old_name, existing = None, {}
    if old_name and not force and set(desired) == set(existing):
        return CommitResult(old_name, len(desired), 0, len(desired), 0, changed=False)

    reuse = [] if force else [existing[i] for i in desired if i in existing]
    fresh = [c for i, c in desired.items() if force or i not in existing]
    removed = len(set(existing) - set(desired))
    name = f"{PREFIX}{slug}-{secrets.token_hex(4)}"
    new = client.create_collection(
        name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
        metadata={"headroom:state": "building", "headroom:started": time.time(),
                  "headroom:embedder": slug},
    )
    rows: list[StoredChunk] = []
    try:
        for batch in _batches(reuse, 512):
            new.add(ids=[s.id for s in batch], embeddings=[s.vector for s in batch],
                    documents=[s.chunk.text for s in batch],
                    metadatas=[s.chunk.metadata() for s in batch])
            rows.extend(batch)
        done = 0
        if progress:
            progress(0, len(fresh))
        for batch in _batches(fresh, BATCH):
            vectors = embed_chunks(embedder, batch)
            new.add(ids=[c.id for c in batch], embeddings=vectors,  # type: ignore[arg-type]
                    documents=[c.text for c in batch], metadatas=[c.metadata() for c in batch])
            rows.extend(StoredChunk(c.id, c, v) for c, v in zip(batch, vectors, strict=True))
            done += len(batch)
            if progress:
                progress(done, len(fresh))
        new.modify(metadata={"headroom:state": "ready", "headroom:started": time.time(),
                             "headroom:embedder": slug})
        if on_ready:
            on_ready(name, rows)
        _set_active(client, slug, name)
    except BaseException:
        try:
            client.delete_collection(name)
        except Exception:  # best effort; the next build removes orphans
            pass
        raise
    if old_name:
        try:
            client.delete_collection(old_name)
        except Exception:  # best effort
            pass
    return CommitResult(name, len(desired), len(fresh), len(reuse), removed, changed=True)
