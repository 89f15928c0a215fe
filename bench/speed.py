"""Speed benchmark: ``python bench/speed.py`` (same as ``headroom bench speed``)."""

from ui.bench_report import speed_report

if __name__ == "__main__":
    print(speed_report())
