"""Build and cold-query timings of the knowledge base, each in a fresh Python process.

1. cold build: a new process builds the shipped guide into an empty ``HEADROOM_HOME``
   (imports, chunking, embedding, Chroma writes, snapshot);
2. no-op rebuild: a new process runs ``knowledge.build()`` on the existing index;
3. cold search: a new process runs ``python -m ui.cli_kb search "..."`` (what
   ``headroom kb search`` does) against the existing index.

Run from the project root:  python bench/kb_build.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ("What does ZeRO stage 2 shard?", "vLLM 的 gpu_memory_utilization 设多少合适？",
           "how much KV cache per token for Llama-3.1-8B")


def timed(cmd: list[str], home: str) -> float:
    env = {**os.environ, "HEADROOM_HOME": home}
    env.pop("HEADROOM_CHROMA_URL", None)
    env.pop("HEADROOM_EMBEDDINGS_URL", None)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    build = [py, "-c", "import knowledge; r = knowledge.build(); print(r)"]
    builds, noops, searches = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            builds.append(timed(build, home))
            noops.append(timed(build, home))
            for q in QUERIES:
                searches.append(timed([py, "-m", "ui.cli_kb", "search", q, "-k", "3"], home))
    print(f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.runs} runs")
    for name, values in (("cold build", builds), ("no-op rebuild", noops),
                         ("cold `kb search`", searches)):
        print(f"{name:18} median {statistics.median(values):6.2f} s   "
              f"min {min(values):6.2f} s   max {max(values):6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
