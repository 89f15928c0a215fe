"""Knowledge-base settings: the one place that reads the KB's environment variables.

``HEADROOM_HOME``            data directory (default ``~/.local/share/headroom``); the embedded
                             Chroma store and its read snapshot live in ``$HEADROOM_HOME/kb``.
``HEADROOM_CHROMA_URL``      a Chroma server (``chroma run``) shared by a team, e.g.
                             ``http://10.0.0.5:8000``; when unset the embedded store is used.
``HEADROOM_EMBEDDINGS_URL``  an OpenAI-compatible ``/v1/embeddings`` endpoint (optional, stronger
                             backend); ``HEADROOM_EMBEDDINGS_MODEL`` and
                             ``HEADROOM_EMBEDDINGS_API_KEY`` go with it.

Everything else in ``knowledge`` takes a :class:`KbSettings` argument and never reads the
environment itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_HOME = Path("~/.local/share/headroom")


@dataclass(frozen=True)
class KbSettings:
    """Where the index lives and which embedding backend to use."""

    home: Path
    chroma_url: str | None = None
    embeddings_url: str | None = None
    embeddings_model: str | None = None
    embeddings_api_key: str | None = None

    @property
    def kb_dir(self) -> Path:
        """Directory of the embedded Chroma store and the local read snapshot."""
        return self.home / "kb"

    @property
    def backend(self) -> str:
        """``openai`` when an embeddings endpoint is configured, else the offline ``hash``."""
        return "openai" if self.embeddings_url else "hash"

    def chroma_host_port(self) -> tuple[str, int, bool]:
        """Host, port and TLS flag of ``chroma_url``; raises ``ValueError`` when malformed."""
        if not self.chroma_url:
            raise ValueError("no Chroma server URL configured")
        url = self.chroma_url if "://" in self.chroma_url else f"http://{self.chroma_url}"
        parsed = urlparse(url)
        if not parsed.hostname:
            raise ValueError(f"HEADROOM_CHROMA_URL {self.chroma_url!r} has no host")
        ssl = parsed.scheme == "https"
        return parsed.hostname, parsed.port or (443 if ssl else 8000), ssl


def load_settings(env: Mapping[str, str] | None = None) -> KbSettings:
    """Read the KB settings from ``env`` (default: the process environment)."""
    source = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = source.get(name, "").strip()
        return value or None

    home = Path(get("HEADROOM_HOME") or DEFAULT_HOME).expanduser()
    return KbSettings(
        home=home,
        chroma_url=get("HEADROOM_CHROMA_URL"),
        embeddings_url=get("HEADROOM_EMBEDDINGS_URL"),
        embeddings_model=get("HEADROOM_EMBEDDINGS_MODEL"),
        embeddings_api_key=get("HEADROOM_EMBEDDINGS_API_KEY"),
    )
