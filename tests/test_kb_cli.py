"""The `headroom kb` command group, through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import knowledge
import knowledge.shipped as shipped
from knowledge.testing import write_guide
from ui.cli_kb import kb as kb_group


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HEADROOM_CHROMA_URL", raising=False)
    monkeypatch.delenv("HEADROOM_EMBEDDINGS_URL", raising=False)
    guide = write_guide(tmp_path, "kv.md", "# KV cache\n\n## Formula\n\nTwo times layers times KV heads times head dim.\n\n"
            "## Quantized cache\n\nFP8 halves the cache.\n")
    monkeypatch.setattr(shipped, "GUIDE_DIR", guide)
    yield CliRunner()
    knowledge.close()


def test_build_search_json(runner: CliRunner) -> None:
    built = runner.invoke(kb_group, ["build"])
    assert built.exit_code == 0, built.output
    assert "Indexed 4 chunks" in built.output
    again = runner.invoke(kb_group, ["build"])
    assert "up to date" in again.output

    found = runner.invoke(kb_group, ["search", "fp8 cache", "-k", "1"])
    assert found.exit_code == 0 and "KV cache § Quantized cache" in found.output
    as_json = runner.invoke(kb_group, ["search", "formula layers heads", "--json", "-k", "2"])
    rows = json.loads(as_json.output)
    assert rows[0]["section"] == "Formula" and rows[0]["citation"].startswith("[KV cache § ")
    assert "text" not in rows[0] and rows[0]["excerpt"]
    zh = runner.invoke(kb_group, ["search", "cache", "--lang", "zh", "--json"])
    assert {r["lang"] for r in json.loads(zh.output)} == {"zh"}


def test_add_list_remove(runner: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "ops.md"
    good.write_text("# Ops\n\n## Limits\n\nThe heron queue allows 4 GPUs per job.\n", "utf-8")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    added = runner.invoke(kb_group, ["add", str(good), str(bad)])
    assert added.exit_code == 0, added.output
    assert f"added {good.resolve()}" in added.output
    assert "skipped" in added.output and "bad.pdf" in added.output

    listed = json.loads(runner.invoke(kb_group, ["list", "--json"]).output)
    assert {row["kind"] for row in listed} == {"guide", "team"}
    plain = runner.invoke(kb_group, ["list"]).output
    assert str(good.resolve()) in plain

    removed = runner.invoke(kb_group, ["remove", str(good)])
    assert removed.exit_code == 0 and "removed" in removed.output
    assert str(good.resolve()) not in runner.invoke(kb_group, ["list"]).output


def test_errors_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(kb_group, ["remove", "nowhere.md"])
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: not in the index: nowhere.md")
    assert "Traceback" not in missing.output

    nothing = runner.invoke(kb_group, ["add", str(tmp_path / "absent.md")])
    assert nothing.exit_code == 1 and "no document could be read" in nothing.output

    no_url = runner.invoke(kb_group, ["search", "x", "--backend", "openai"])
    assert no_url.exit_code == 1 and "HEADROOM_EMBEDDINGS_URL" in no_url.output
    assert len(no_url.output.strip().splitlines()) == 1


def test_help_does_not_import_chromadb() -> None:
    import subprocess
    import sys

    code = "import sys, ui.cli_kb; print('chromadb' in sys.modules, 'knowledge' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]
