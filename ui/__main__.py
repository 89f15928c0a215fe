"""``python -m ui`` runs the headroom CLI."""

from ui.cli import run

run()
