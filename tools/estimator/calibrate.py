"""Refit the fitted constants (``data/fitted.toml``) on all calibration rows.

    python -m tools.estimator.calibrate          # print the fit
    python -m tools.estimator.calibrate --write  # and store it in data/fitted.toml
"""

from __future__ import annotations

import sys
from pathlib import Path

from .accuracy import base_rows, fit_slack
from .constants import fitted

DATA = Path(__file__).parent / "data" / "fitted.toml"


def render(fit: dict[str, tuple[float, int, int]]) -> str:
    """The data file's text for a fit."""
    head = DATA.read_text("utf-8").split("[allocator_slack.training]")[0]
    parts = [head.rstrip() + "\n"]
    for kind, (value, groups, rows) in fit.items():
        desc = fitted()["allocator_slack"][kind]["description"]
        parts.append(f"\n[allocator_slack.{kind}]\nvalue = {value:.4f}\ngroups = {groups}\n"
                     f"rows = {rows}\ndescription = \"{desc}\"\n")
    return "".join(parts)


def main(argv: list[str]) -> int:
    """Fit, print, and with --write store the constants."""
    fit = fit_slack(base_rows())
    for kind, (value, groups, rows) in fit.items():
        print(f"allocator_slack.{kind} = {value:.4f} ({groups} source groups, {rows} rows)")
    if "--write" in argv:
        DATA.write_text(render(fit), "utf-8")
        print(f"wrote {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
