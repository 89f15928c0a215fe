"""The estimator core imports nothing heavy and reads only its own data files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tools

HEAVY = ("torch", "gradio", "chromadb", "slack_bolt", "openai", "langchain", "langchain_core", "httpx")


def test_import_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, tools.estimator as t; t.estimate(model='llama-2-7b'); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tools_package_is_this_repository() -> None:
    assert Path(tools.__file__).resolve().parent.parent == Path(__file__).resolve().parent.parent


def test_no_code_reads_shared() -> None:
    root = Path(__file__).resolve().parent.parent
    needle = "../" + "shared"
    for folder in ("tools", "assistant", "knowledge", "ui", "tests"):
        for path in (root / folder).rglob("*.py"):
            assert needle not in path.read_text(encoding="utf-8"), path
