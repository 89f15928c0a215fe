"""The knowledge base's error types: one base class whose message is one line for the user."""

from __future__ import annotations


class KnowledgeError(Exception):
    """A KB operation failed; the message is one line for the user (the CLI prints it)."""


class EmbeddingError(KnowledgeError):
    """The embedding backend failed (endpoint unreachable, bad reply, missing package)."""


class IndexUnavailableError(KnowledgeError):
    """The Chroma store or server cannot be opened."""


class IngestError(KnowledgeError):
    """A file that cannot be read; the message says why."""
