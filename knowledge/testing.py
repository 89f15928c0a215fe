"""Test doubles and helpers for the knowledge base (no network, no model downloads).

- :class:`FakeEmbeddingsServer`: an OpenAI-compatible ``POST /v1/embeddings`` on 127.0.0.1,
  stdlib only, returning deterministic vectors (the offline hash embedding), and recording the
  requests it served.
- :func:`chroma_server`: a real ``chroma run`` subprocess on a free loopback port, waited for
  through its heartbeat and always stopped.
- :class:`CountingEmbedder`: wraps an embedder, counts what it embeds, and can fail after N
  batches to simulate an interrupted build.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .chunking import Chunk
from .embeddings import Embedder, HashEmbedder, Vector, embed_chunks


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_guide(root: Path, name: str, text: str) -> Path:
    """A tiny bilingual guide (the same page in en/ and zh/) under ``root/guide``; tests point
    ``knowledge.shipped.GUIDE_DIR`` at the returned folder."""
    guide = root / "guide"
    for lang in ("en", "zh"):
        (guide / lang).mkdir(parents=True, exist_ok=True)
        (guide / lang / name).write_text(text, "utf-8")
    return guide


class FakeEmbeddingsServer:
    """``with FakeEmbeddingsServer() as srv: srv.url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, dim: int = 256) -> None:
        self.embedder = HashEmbedder(dim)
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/embeddings":
                    self._reply(404, {"error": {"message": f"no route {self.path}"}})
                    return
                texts = body.get("input", [])
                texts = [texts] if isinstance(texts, str) else texts
                outer.requests.append({"model": body.get("model"), "n": len(texts),
                                       "auth": self.headers.get("Authorization", "")})
                data = [{"object": "embedding", "index": i, "embedding": v}
                        for i, v in enumerate(outer.embedder.embed(texts))]
                self._reply(200, {"object": "list", "data": data, "model": body.get("model"),
                                  "usage": {"prompt_tokens": 0, "total_tokens": 0}})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeEmbeddingsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def chroma_executable() -> str | None:
    """Path of the ``chroma`` CLI installed with chromadb (next to this Python), if any."""
    candidate = Path(sys.executable).with_name("chroma")
    return str(candidate) if candidate.exists() else shutil.which("chroma")


@contextmanager
def chroma_server(path: Path, timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``chroma run --path PATH`` on a free loopback port; yield its URL; always stop it."""
    exe = chroma_executable()
    if exe is None:
        raise RuntimeError("the chroma CLI is not installed (pip install chromadb)")
    port = free_port()
    log = open(path.parent / f"chroma-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer within {timeout_s:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


class CountingEmbedder:
    """Delegates to ``inner``; counts the chunks a build embeds; optionally fails.

    With ``fail_after_batches=n`` the (n+1)-th batch raises ``error`` (default
    ``KeyboardInterrupt``), as if the build were interrupted there.
    """

    def __init__(self, inner: Embedder, fail_after_batches: int | None = None,
                 error: BaseException | None = None) -> None:
        self.inner = inner
        self.embedded = 0
        self.batches = 0
        self.fail_after_batches = fail_after_batches
        self.error = error or KeyboardInterrupt()

    @property
    def slug(self) -> str:
        return self.inner.slug

    def _tick(self, n: int) -> None:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise self.error
        self.batches += 1
        self.embedded += n

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """Query embedding: delegated, not counted (builds go through ``embed_chunks``)."""
        return self.inner.embed(texts)

    def embed_chunks(self, chunks: Sequence[Chunk]) -> list[Vector]:
        self._tick(len(chunks))
        return embed_chunks(self.inner, chunks)
