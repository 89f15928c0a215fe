"""Answer benchmark: ``python bench/answers.py [--backend offline|llm] [--json] [-v]``.

The same as ``headroom bench answers``: accuracy of the assistant on its evaluation set
(``assistant/eval/questions.jsonl``) and the median time per answer after start-up.
"""

from ui.cli_assistant import bench_answers

if __name__ == "__main__":
    bench_answers()
