"""Embedding backends: an offline default that needs no model, and an optional endpoint.

``HashEmbedder`` (default, ``hash``): feature hashing of the tokens of :mod:`knowledge.textnorm`
(English stems, compound terms, word bigrams, character trigrams of words, Chinese character
bigrams, bilingual concept tokens) into a signed, sub-linear-TF, L2-normalised vector. It is
deterministic, works on a fresh machine with no download, handles English and Chinese, and
embeds a few hundred chunks in well under a second. It is a lexical-semantic hybrid, not a
neural model: it matches wording and synonyms listed in the glossary, not paraphrase.

``OpenAIEmbedder`` (``openai``): any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, a
local vLLM/TEI/Ollama server running e.g. bge-m3). The ``openai`` package is imported lazily.

Each backend has a ``slug`` that names its Chroma collections, so vectors of different
backends never mix.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Protocol

from .errors import EmbeddingError
from .glossary import CONCEPTS
from .textnorm import _CJK_RE, EN_STOP, ZH_STOP_CHARS, normalize, tokenize

if TYPE_CHECKING:
    from .chunking import Chunk
    from .config import KbSettings

Vector = list[float]


class Embedder(Protocol):
    """What the index needs from a backend."""

    @property
    def slug(self) -> str:
        """Stable id of backend + settings, safe in a Chroma collection name."""
        ...

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One vector per text, in order."""
        ...


_WORD_RE = re.compile(r"[a-z][a-z0-9]+")
FIELD_WEIGHTS = {"body": 1.0, "heading": 0.5, "title": 0.3}


def _features(text: str) -> dict[str, float]:
    """Weighted sparse features of ``text`` before hashing."""
    feats: defaultdict[str, float] = defaultdict(float)
    tokens = tokenize(text)
    latin = [t for t in tokens if not t.startswith("~") and not _CJK_RE.match(t)]
    for t in tokens:
        if t.startswith("~"):
            feats["c:" + t] += 2
        elif _CJK_RE.match(t):
            feats["z:" + t] += 1 if len(t) > 1 else 0.5
        else:
            feats["w:" + t] += 1
    for a, b in zip(latin, latin[1:], strict=False):
        feats[f"b:{a} {b}"] += 0.5
    for word in _WORD_RE.findall(normalize(text)):
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            feats["g:" + padded[i : i + 3]] += 0.2
    return feats


@cache
def _feature_data_hash() -> str:
    data = repr((sorted(CONCEPTS.items()), sorted(EN_STOP), sorted(ZH_STOP_CHARS),
                 sorted(FIELD_WEIGHTS.items())))
    return hashlib.sha256(data.encode()).hexdigest()[:8]


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    h = zlib.crc32(feature.encode("utf-8"))
    return h % dim, (1.0 if (h >> 31) & 1 == 0 else -1.0)


class HashEmbedder:
    """Offline feature-hashing embedding (see module docstring).

    A chunk's vector is the normalised sum of its body, heading and title vectors with weights
    :data:`FIELD_WEIGHTS`, so a query that names a section's heading or page's topic lands
    near it even when the body is long.
    """

    version = 2  # bump when the feature code changes; data changes are hashed into the slug

    def __init__(self, dim: int = 2048) -> None:
        if dim < 64:
            raise ValueError("dim must be at least 64")
        self.dim = dim

    @property
    def slug(self) -> str:
        """Names the collection: version, size and a hash of the glossary and stop words, so
        vectors made with other features are never mixed with these."""
        return f"hash-v{self.version}-{self.dim}-{_feature_data_hash()}"

    def embed_one(self, text: str) -> Vector:
        vec = [0.0] * self.dim
        for feat, weight in _features(text).items():
            idx, sign = _bucket(feat, self.dim)
            vec[idx] += sign * math.log1p(weight)
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        return [self.embed_one(t) for t in texts]

    def embed_chunks(self, chunks: Sequence[Chunk]) -> list[Vector]:
        """Field-weighted vectors of chunks (see class docstring)."""
        out = []
        for chunk in chunks:
            fields = chunk.fields()
            vec = [0.0] * self.dim
            for name, weight in FIELD_WEIGHTS.items():
                if fields[name].strip():
                    for i, v in enumerate(self.embed_one(fields[name])):
                        vec[i] += weight * v
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> list[Vector]:
    """Vectors for chunks: the backend's field-aware method if it has one, else plain text."""
    method = getattr(embedder, "embed_chunks", None)
    if callable(method):
        return list(method(chunks))
    return embedder.embed([c.embed_text() for c in chunks])


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint, via the ``openai`` package."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 batch_size: int = 64, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key or "not-needed"
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self._client: object | None = None

    @property
    def slug(self) -> str:
        safe = re.sub(r"[^a-zA-Z0-9]+", "-", self.model).strip("-").lower()[:40]
        return f"openai-{safe or 'model'}"

    def _get_client(self) -> object:
        if self._client is None:
            try:
                import openai
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise EmbeddingError(
                    "the embeddings endpoint needs the openai package: "
                    "pip install 'headroom[kb]'"
                ) from e
            self._client = openai.OpenAI(
                base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_s,
                max_retries=1,
            )
        return self._client

    def close(self) -> None:
        """Release the HTTP connection pool."""
        client, self._client = self._client, None
        close = getattr(client, "close", None)
        if callable(close):
            close()

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        client = self._get_client()
        out: list[Vector] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
            try:
                reply = client.embeddings.create(model=self.model, input=batch)  # type: ignore[attr-defined]
            except Exception as e:  # openai raises many types; report one line
                raise EmbeddingError(
                    f"embeddings endpoint {self.base_url} failed: {type(e).__name__}: {e}"
                ) from e
            rows = sorted(reply.data, key=lambda d: d.index)
            if len(rows) != len(batch):
                raise EmbeddingError(
                    f"embeddings endpoint returned {len(rows)} vectors for {len(batch)} texts"
                )
            out.extend([float(x) for x in row.embedding] for row in rows)
        return out


def make_embedder(settings: KbSettings, backend: str | None = None) -> Embedder:
    """The backend named by ``backend`` (``hash`` or ``openai``), default from settings."""
    name = backend or settings.backend
    if name == "hash":
        return HashEmbedder()
    if name == "openai":
        if not settings.embeddings_url:
            raise EmbeddingError("set HEADROOM_EMBEDDINGS_URL to use the openai backend")
        return OpenAIEmbedder(
            settings.embeddings_url,
            settings.embeddings_model or "text-embedding-3-small",
            settings.embeddings_api_key,
        )
    raise EmbeddingError(f"unknown embedding backend {name!r}; use 'hash' or 'openai'")
