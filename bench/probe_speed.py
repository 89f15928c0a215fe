"""Benchmark the probe: ``headroom probe --from-file`` end to end, ``parse_paste`` and ``probe_local``.

The target (issue 4) is that ``headroom probe`` answers in under a second. End-to-end times are
fresh processes (Python start-up and imports included); the rest are in-process medians.

Run with: ``.venv/bin/python bench/probe_speed.py [--runs 15]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "nvidia-smi"
TARGET_MS = 1000.0


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of ``fn`` over ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cli_command(*args: str) -> list[str]:
    """``headroom probe ARGS`` when the entry point has it, else the command module directly."""
    exe = shutil.which("headroom", path=str(Path(sys.executable).parent))
    if exe and subprocess.run([exe, "probe", "--help"], capture_output=True).returncode == 0:
        return [exe, "probe", *args]
    return [sys.executable, "-c", "from ui.cli_probe import probe; probe()", *args]


def main() -> None:
    """Print one line per measurement: what, median ms, and whether it meets the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    sys.path.insert(0, str(ROOT))
    from tools.probe import parse_paste, probe_local

    rows: list[tuple[str, float]] = []
    fixture = FIXTURES / "h100_table_wilicc-gpu-burn-114.txt"
    cmd = cli_command("--from-file", str(fixture))
    rows.append(("headroom probe --from-file <h100 table> (fresh process)",
                 median_ms(lambda: subprocess.run(cmd, capture_output=True, check=True), runs)))
    live = cli_command()
    rows.append(("headroom probe (live, fresh process)",
                 median_ms(lambda: subprocess.run(live, capture_output=True, check=True), runs)))
    rows.append(("probe_local() in-process", median_ms(probe_local, runs)))
    for path in sorted(FIXTURES.glob("*")):
        if path.name != "README.md":
            text = path.read_text(encoding="utf-8")
            rows.append((f"parse_paste({path.name})", median_ms(partial(parse_paste, text), runs)))
    result = probe_local()
    print(f"probe_local(): ok={result.ok} source={result.source} gpus={len(result.gpus)}"
          + ("" if result.ok else f" reason={result.reason!r}"))
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        flag = "ok" if ms < TARGET_MS else "SLOW"
        print(f"{name.ljust(width)}  {ms:8.1f} ms  {flag}")


if __name__ == "__main__":
    main()
