"""Loading the corpus to search, cached per process: the local snapshot or a Chroma store.

The embedded store is read from its snapshot (numpy, exact cosine; no chromadb import); a team
server is queried through one shared ``HttpClient`` per URL, kept open until :func:`close`.
"""

from __future__ import annotations

import atexit
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import snapshot
from .config import KbSettings
from .embeddings import Embedder
from .retrieval import Corpus, DenseFn
from .shipped import guide_fingerprint

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from chromadb.api import ClientAPI


_CORPORA: dict[tuple[KbSettings, str], Corpus] = {}


def numpy_dense(vectors: npt.NDArray[np.float32]) -> DenseFn:
    """Exact cosine top-n over unit-norm row vectors."""
    import numpy as np

    def dense(query: Sequence[float], n: int) -> list[tuple[int, float]]:
        q = np.asarray(query, dtype=np.float32)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        sims = vectors @ q
        n = min(n, len(sims))
        if n <= 0:
            return []
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(i), float(sims[i])) for i in top]

    return dense


def local_corpus(settings: KbSettings, embedder: Embedder,
                 allow_stale: bool = False) -> Corpus | None:
    """The snapshot's corpus; None when missing, or built from an older guide (unless
    ``allow_stale``)."""
    pointer = snapshot.read_pointer(settings.kb_dir, embedder.slug)
    if pointer is None or (pointer.guide_fingerprint != guide_fingerprint() and not allow_stale):
        return None
    cached = _CORPORA.get((settings, embedder.slug))
    if cached is not None and cached.name == pointer.collection:
        return cached
    loaded = snapshot.load_snapshot(settings.kb_dir, pointer.collection)
    if loaded is None:
        return None
    corpus = Corpus(loaded.rows, numpy_dense(loaded.vectors), pointer.collection, loaded.tokens)
    _CORPORA[(settings, embedder.slug)] = corpus
    return corpus


_CLIENTS: dict[str, ClientAPI] = {}


def shared_client(settings: KbSettings) -> ClientAPI:
    """One client per store kept open for the process (closed by :func:`close`)."""
    from .index import connect

    key = settings.chroma_url or str(settings.kb_dir)
    client = _CLIENTS.get(key)
    if client is None:
        client = connect(settings)
        if not _CLIENTS:
            atexit.register(close)
        _CLIENTS[key] = client
    return client


def chroma_corpus(settings: KbSettings, embedder: Embedder) -> Corpus | None:
    """Corpus served by Chroma: chunks read once, dense search by ``collection.query``."""
    from .index import active_name, get_collection, read_all

    client = shared_client(settings)
    name = active_name(client, embedder.slug)
    if not name:
        return None
    cached = _CORPORA.get((settings, embedder.slug))
    if cached is not None and cached.name == name:
        return cached
    collection = get_collection(client, name)
    rows = read_all(collection, with_vectors=False)
    position = {r.id: i for i, r in enumerate(rows)}

    def dense(query: Sequence[float], n: int) -> list[tuple[int, float]]:
        vector: list[float] = [float(x) for x in query]
        got = collection.query(query_embeddings=vector, n_results=min(n, len(rows)),
                               include=["distances"])
        distances = (got.get("distances") or [[]])[0]
        return [(position[i], 1.0 - float(d)) for i, d in zip(got["ids"][0], distances,
                                                              strict=False) if i in position]

    corpus = Corpus([(r.id, r.chunk) for r in rows], dense, name)
    _CORPORA[(settings, embedder.slug)] = corpus
    return corpus


def forget_corpora() -> None:
    """Drop cached corpora (after a write, so the next search reloads)."""
    _CORPORA.clear()


def close() -> None:
    """Forget loaded corpora and close the clients kept open for queries."""
    from .index import close_client

    _CORPORA.clear()
    while _CLIENTS:
        close_client(_CLIENTS.popitem()[1])
