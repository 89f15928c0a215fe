"""Retrieval benchmark: recall@1, recall@3, MRR and query latency on the labeled question set.

For each embedding backend (the offline ``hash`` default, plus ``openai`` when
``HEADROOM_EMBEDDINGS_URL`` points at an OpenAI-compatible endpoint), builds the shipped guide
into a fresh temporary index and ranks every question of ``knowledge/eval/questions.jsonl`` with
dense-only, lexical-only (BM25, backend-independent) and hybrid (weighted RRF) retrieval.
Latency is the median wall time of ``knowledge.search`` in a warm process.

Run from the project root:  python bench/kb_retrieval.py [--backend hash|openai|all] [--misses]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import knowledge  # noqa: E402
from knowledge.config import load_settings  # noqa: E402
from knowledge.evaluation import Question, evaluate, load_questions  # noqa: E402


def run_backend(backend: str, questions: list[Question], show_misses: bool,
                modes: tuple[str, ...]) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings({"HEADROOM_HOME": home, **_endpoint_env()})
        start = time.perf_counter()
        result = knowledge.build(settings, backend=backend)
        build_s = time.perf_counter() - start
        print(f"# {backend}: built {result.total} chunks in {build_s:.1f} s ({result.collection})")
        for mode in modes:
            def search(text: str, mode: str = mode) -> list[knowledge.Passage]:
                return knowledge.search(text, k=10, mode=mode, settings=settings,
                                        backend=backend)

            for subset, label in ((questions, "all"),
                                  ([q for q in questions if q.lang == "en"], "en"),
                                  ([q for q in questions if q.lang == "zh"], "zh")):
                m = evaluate(subset, search)
                name = "-" if mode == "lexical" else backend
                rows.append(f"{name:8} {mode:8} {label:4} {m.n:4} {m.recall_at_1:6.3f} "
                            f"{m.recall_at_3:6.3f} {m.mrr:6.3f} {m.median_ms:8.1f}")
                if show_misses and label == "all":
                    rows.append(f"    misses@3: {' '.join(m.misses) or '-'}")
        knowledge.close()
    return rows


def _endpoint_env() -> dict[str, str]:
    settings = load_settings()
    env = {}
    if settings.embeddings_url:
        env["HEADROOM_EMBEDDINGS_URL"] = settings.embeddings_url
    if settings.embeddings_model:
        env["HEADROOM_EMBEDDINGS_MODEL"] = settings.embeddings_model
    if settings.embeddings_api_key:
        env["HEADROOM_EMBEDDINGS_API_KEY"] = settings.embeddings_api_key
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["hash", "openai", "all"], default="all")
    parser.add_argument("--misses", action="store_true", help="list missed question ids")
    args = parser.parse_args()
    questions = load_questions()
    backends = ["hash"] if args.backend == "hash" else ["openai"] if args.backend == "openai" \
        else ["hash", "openai"]
    if "openai" in backends and not load_settings().embeddings_url:
        print("# openai: skipped (set HEADROOM_EMBEDDINGS_URL and HEADROOM_EMBEDDINGS_MODEL)")
        backends.remove("openai")
    print(f"# {len(questions)} questions "
          f"({sum(q.lang == 'en' for q in questions)} en, {sum(q.lang == 'zh' for q in questions)} zh)")
    print(f"{'backend':8} {'mode':8} {'set':4} {'n':>4} {'R@1':>6} {'R@3':>6} {'MRR':>6} "
          f"{'p50 ms':>8}")
    for i, backend in enumerate(backends):
        modes = ("dense", "lexical", "hybrid") if i == 0 else ("dense", "hybrid")
        for row in run_backend(backend, questions, args.misses, modes):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
