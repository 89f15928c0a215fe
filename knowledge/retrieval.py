"""Ranking: dense cosine, BM25, and their reciprocal-rank fusion; passages ready to cite.

``Corpus`` holds the chunks of one generation and a dense-search function (exact cosine over
the local snapshot, or a Chroma query). ``rank`` fuses the dense and BM25 rankings with
reciprocal-rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009:
https://plg.uwaterloo.ca/~gvcormac/cormacksigir09-rrf.pdf), then collapses chunks of the same
section (the English and Chinese pages of a guide section count as one, represented in the
query's language) so the top results are distinct sections. The dense ranking gets half the
weight of BM25 in the fusion: with the offline hashing embedding it is the weaker signal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property

from .chunking import Chunk
from .embeddings import Embedder
from .lexical import FieldedBm25
from .textnorm import detect_lang, tokenize

DenseFn = Callable[[Sequence[float], int], list[tuple[int, float]]]
MODES = ("hybrid", "dense", "lexical")
RRF_K = 60
DENSE_WEIGHT = 0.5  # BM25 is the stronger ranker on the labeled set (bench/kb_retrieval.py)
EXCERPT_CHARS = 280

_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_SENT_RE = re.compile(r"[^\n。！？!?；;]+(?:[。！？!?；;]|\.(?=\s)|$)|[^\n]+")


@dataclass(frozen=True)
class Passage:
    """A retrieved section, ready to cite: ``[title § section](source)``."""

    title: str
    section: str
    section_path: str
    source: str
    lang: str
    kind: str
    excerpt: str
    text: str
    score: float
    id: str
    section_key: str

    def citation(self) -> str:
        """Markdown link naming the section and where it comes from."""
        return f"[{self.title} § {self.section}]({self.source})"

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["citation"] = self.citation()
        return data


class Corpus:
    """The chunks of one generation plus its dense search; BM25 is built on first use."""

    def __init__(self, rows: Sequence[tuple[str, Chunk]], dense: DenseFn, name: str = "",
                 tokens: Sequence[Mapping[str, Sequence[str]]] | None = None) -> None:
        self.ids = [r[0] for r in rows]
        self.chunks = [r[1] for r in rows]
        self.dense = dense
        self.name = name
        self._tokens = tokens

    @cached_property
    def bm25(self) -> FieldedBm25:
        if self._tokens is not None and len(self._tokens) == len(self.chunks):
            return FieldedBm25(self._tokens)
        return FieldedBm25.from_fields([c.fields() for c in self.chunks])

    def __len__(self) -> int:
        return len(self.chunks)


def _clean(text: str) -> str:
    text = _LINK_RE.sub(r"\1", text)
    text = text.replace("**", "").replace("`", "")
    return str(re.sub(r"[ \t]+", " ", text))


def make_excerpt(text: str, query: str, limit: int = EXCERPT_CHARS) -> str:
    """The sentences of ``text`` that best overlap ``query``, about ``limit`` characters."""
    sentences = [str(s).strip() for s in _SENT_RE.findall(_clean(text)) if str(s).strip()]
    sentences = [s for s in sentences if not set(s) <= set("|-: ")]  # table rules
    if not sentences:
        return ""
    q = set(tokenize(query, concepts=False))
    best = max(range(len(sentences)),
               key=lambda i: (len(q & set(tokenize(sentences[i], concepts=False))), -i))
    out = sentences[best]
    for s in sentences[best + 1 :]:
        if len(out) + len(s) + 1 > limit:
            break
        out += " " + s
    if len(out) > limit:
        out = out[: limit - 1].rstrip() + "…"
    return out


def _fuse(rankings: Sequence[tuple[float, Sequence[int]]]) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of (weight, ranking) pairs."""
    scores: dict[int, float] = {}
    for weight, ranking in rankings:
        for rank, doc in enumerate(ranking):
            scores[doc] = scores.get(doc, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def ranked_indices(corpus: Corpus, embedder: Embedder, query: str, mode: str = "hybrid",
                   pool: int = 50) -> list[tuple[int, float]]:
    """(chunk index, score) best first, for ``mode`` in :data:`MODES`."""
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
    n = min(pool, len(corpus))
    if n == 0:
        return []
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    if mode in ("dense", "hybrid"):
        dense = corpus.dense(embedder.embed([query])[0], n)
    if mode in ("lexical", "hybrid"):
        lexical = corpus.bm25.top(query, n)
    if mode == "dense":
        return dense
    if mode == "lexical":
        return lexical
    return _fuse([(DENSE_WEIGHT, [i for i, _ in dense]), (1.0, [i for i, _ in lexical])])


def rank(corpus: Corpus, embedder: Embedder, query: str, k: int = 5, *, mode: str = "hybrid",
         lang: str | None = None, kind: str | None = None) -> list[Passage]:
    """The ``k`` best distinct sections for ``query`` (optionally one language or kind)."""
    query = query.strip()
    if not query or k <= 0:
        return []
    query_lang = lang or detect_lang(query)
    best: dict[str, tuple[int, float]] = {}
    order: list[str] = []
    for idx, score in ranked_indices(corpus, embedder, query, mode, pool=max(50, 4 * k)):
        chunk = corpus.chunks[idx]
        if (lang and chunk.lang != lang) or (kind and chunk.kind != kind):
            continue
        key = chunk.section_key
        if key not in best:
            best[key] = (idx, score)
            order.append(key)
        elif chunk.lang == query_lang and corpus.chunks[best[key][0]].lang != query_lang:
            best[key] = (idx, best[key][1])  # same section, reader's language
    out = []
    for key in order[:k]:
        idx, score = best[key]
        c = corpus.chunks[idx]
        out.append(Passage(
            title=c.title, section=c.section, section_path=" > ".join(c.section_path),
            source=c.source, lang=c.lang, kind=c.kind, excerpt=make_excerpt(c.text, query),
            text=c.text, score=round(score, 6), id=corpus.ids[idx], section_key=c.section_key,
        ))
    return out
