"""A local, read-only copy of the active Chroma collection for fast cold queries.

``import chromadb`` alone takes ~0.7 s, which would spend most of the one-second budget of a
cold ``headroom kb search``. After every successful build of the *embedded* store, the build
also writes the collection's vectors (``vectors.npy``) and chunks with their tokens
(``chunks.json``, so BM25 needs no tokenising at query time) under
``$HEADROOM_HOME/kb/snapshots/<collection>/``, then atomically replaces ``active-<slug>.json``
to point at it. Queries load the snapshot with numpy and rank by exact cosine (a few hundred or
thousand rows: microseconds), never importing chromadb. Chroma stays the store of record: builds
read unchanged vectors from it, and a missing or damaged snapshot falls back to querying Chroma.
A team server (``HEADROOM_CHROMA_URL``) is always queried directly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunking import Chunk
from .lexical import field_tokens

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class ActivePointer:
    """Which snapshot (named after its Chroma collection) is current, and of what guide."""

    collection: str
    guide_fingerprint: str


def _pointer_path(kb_dir: Path, slug: str) -> Path:
    return kb_dir / f"active-{slug}.json"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_pointer(kb_dir: Path, slug: str) -> ActivePointer | None:
    """The current pointer, or None when there is none (or it is unreadable)."""
    try:
        raw = json.loads(_pointer_path(kb_dir, slug).read_text("utf-8"))
        return ActivePointer(str(raw["collection"]), str(raw.get("guide_fingerprint", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_pointer(kb_dir: Path, slug: str, pointer: ActivePointer) -> None:
    """Atomically make ``pointer`` current."""
    payload = {"collection": pointer.collection, "guide_fingerprint": pointer.guide_fingerprint}
    _atomic_write(_pointer_path(kb_dir, slug), json.dumps(payload).encode("utf-8"))


def write_snapshot(kb_dir: Path, collection: str, ids: list[str], chunks: list[Chunk],
                   vectors: list[list[float]]) -> None:
    """Write the snapshot of ``collection`` (into a temp dir, renamed when complete)."""
    import numpy as np

    final = kb_dir / "snapshots" / collection
    tmp = kb_dir / "snapshots" / f".{collection}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    arr = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1) if ids else np.zeros((0, 1))
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    arr = arr / np.where(norms == 0, 1.0, norms)
    np.save(tmp / "vectors.npy", arr.astype(np.float32))
    rows = [{"id": i, "text": c.text, "meta": c.metadata(), "tokens": field_tokens(c.fields())}
            for i, c in zip(ids, chunks, strict=True)]
    (tmp / "chunks.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


@dataclass(frozen=True)
class Snapshot:
    """The rows, unit-norm vectors and per-field tokens of one generation."""

    rows: list[tuple[str, Chunk]]
    vectors: npt.NDArray[np.float32]
    tokens: list[dict[str, list[str]]]


def load_snapshot(kb_dir: Path, collection: str) -> Snapshot | None:
    """The snapshot of ``collection``, or None when missing or damaged."""
    import numpy as np

    folder = kb_dir / "snapshots" / collection
    try:
        rows: list[dict[str, Any]] = json.loads((folder / "chunks.json").read_text("utf-8"))
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if len(rows) != len(vectors) or any("tokens" not in r for r in rows):
        return None
    return Snapshot([(r["id"], Chunk.from_metadata(r["text"], r["meta"])) for r in rows],
                    vectors, [r["tokens"] for r in rows])


def prune_snapshots(kb_dir: Path, keep: set[str]) -> None:
    """Delete snapshot folders other than ``keep`` (best effort)."""
    folder = kb_dir / "snapshots"
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
