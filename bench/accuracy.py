"""Accuracy benchmark: ``python bench/accuracy.py [--rows]`` (same as ``headroom bench accuracy``)."""

import sys

from ui.bench_report import accuracy_report

if __name__ == "__main__":
    print(accuracy_report(rows="--rows" in sys.argv, as_json="--json" in sys.argv))
