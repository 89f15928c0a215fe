"""Okapi BM25 over the tokens of :mod:`knowledge.textnorm` (English stems + Chinese bigrams).

Local Chroma has no sparse or hybrid search (``Search``/``Rrf`` are Chroma Cloud features), so
the lexical half of hybrid retrieval lives here: a small in-memory inverted index, built from
the stored chunks when a process first searches (a few milliseconds per hundred chunks).

``FieldedBm25`` scores the page title, the section headings and the body as separate fields and
adds the weighted field scores (a simple form of BM25F): a word in a heading is strong evidence
whatever the length of the section, and a page title shared by all of a page's sections marks
the topic. Reference: Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and
Beyond" (2009).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from .textnorm import tokenize


class Bm25Index:
    """BM25 with the usual ``k1``/``b`` and the non-negative (Lucene) IDF."""

    def __init__(self, docs_tokens: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b
        self.n_docs = len(docs_tokens)
        self.doc_len = [len(toks) for toks in docs_tokens]
        self.avg_len = (sum(self.doc_len) / self.n_docs) if self.n_docs else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, toks in enumerate(docs_tokens):
            for term, tf in Counter(toks).items():
                self.postings[term].append((i, tf))
        self.idf = {
            term: math.log(1.0 + (self.n_docs - len(p) + 0.5) / (len(p) + 0.5))
            for term, p in self.postings.items()
        }

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Bm25Index:
        """Index raw texts (tokenised with :func:`knowledge.textnorm.tokenize`)."""
        return cls([tokenize(t) for t in texts])

    def scores(self, query: str) -> dict[int, float]:
        """BM25 score of every document that shares a term with ``query``."""
        out: dict[int, float] = defaultdict(float)
        if not self.n_docs:
            return out
        for term, qtf in Counter(tokenize(query)).items():
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf[term]
            for doc, tf in postings:
                norm = self.k1 * (1 - self.b + self.b * self.doc_len[doc] / self.avg_len)
                out[doc] += qtf * idf * tf * (self.k1 + 1) / (tf + norm)
        return out

    def top(self, query: str, n: int) -> list[tuple[int, float]]:
        """The ``n`` best (document index, score) pairs, best first."""
        scored = self.scores(query)
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


FIELD_WEIGHTS = {"title": 0.5, "heading": 1.0, "body": 1.0}


class FieldedBm25:
    """Weighted sum of per-field BM25 scores (fields: title, heading, body)."""

    def __init__(self, docs_tokens: Sequence[Mapping[str, Sequence[str]]],
                 weights: Mapping[str, float] | None = None, b: float = 0.5) -> None:
        self.weights = dict(weights or FIELD_WEIGHTS)
        self.fields = {
            name: Bm25Index([d.get(name, ()) for d in docs_tokens], b=b) for name in self.weights
        }

    @classmethod
    def from_fields(cls, docs: Sequence[Mapping[str, str]]) -> FieldedBm25:
        """Index raw field texts (tokenised here)."""
        return cls([field_tokens(d) for d in docs])

    def top(self, query: str, n: int) -> list[tuple[int, float]]:
        """The ``n`` best (document index, score) pairs, best first."""
        total: dict[int, float] = defaultdict(float)
        for name, index in self.fields.items():
            weight = self.weights[name]
            for doc, score in index.scores(query).items():
                total[doc] += weight * score
        return sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def field_tokens(fields: Mapping[str, str]) -> dict[str, list[str]]:
    """Tokens of each field (what the local snapshot stores, so queries skip tokenising)."""
    return {name: tokenize(fields.get(name, "")) for name in FIELD_WEIGHTS}
