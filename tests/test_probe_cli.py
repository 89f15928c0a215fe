"""``headroom probe`` through click's CliRunner: table, --json, --from-file, stdin, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ui.cli_probe import local_gpu_spec, probe

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
H100 = FIXTURES / "h100_table_wilicc-gpu-burn-114.txt"


def test_table_from_file() -> None:
    out = CliRunner().invoke(probe, ["--from-file", str(H100)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "Source: nvidia-smi table (pasted) · driver 550.90.07 · CUDA 12.4"
    assert lines[1].split() == ["GPU", "Name", "Total", "Used", "Free", "Catalog"]
    assert "NVIDIA H100 80GB HBM3  79.65 GiB  71.08 GiB" in lines[2] and "h100-sxm5" in lines[2]
    assert "note: the paste stops inside the GPU list after GPU 1" in out.output


def test_json_from_stdin() -> None:
    text = (FIXTURES / "rocm-smi_csv_rx6800-raphael_LocalAI-7761.csv").read_text(encoding="utf-8")
    out = CliRunner().invoke(probe, ["--json", "--from-file", "-"], input=text)
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["ok"] is True and data["format"] == "rocm-smi csv"
    assert [g["total_bytes"] for g in data["gpus"]] == [17163091968]


def test_unreadable_paste_is_one_line_and_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes\n", encoding="utf-8")
    out = CliRunner().invoke(probe, ["--from-file", str(bad)])
    assert out.exit_code == 1
    assert out.output.startswith("Error: cannot read the GPU output") and out.output.count("\n") == 1
    assert "Traceback" not in out.output


def test_binary_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\xff\xfe\x00\x81" * 10)
    out = CliRunner().invoke(probe, ["--from-file", str(blob)])
    assert out.exit_code == 1 and "not text" in out.output


def test_live_without_gpu_is_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    out = CliRunner().invoke(probe, [])
    assert out.exit_code == 0
    assert out.output.startswith("No GPU found: NVML: nvidia-ml-py (pynvml) is not installed")


def test_local_gpu_spec_for_estimate() -> None:
    with H100.open(encoding="utf-8") as f:
        spec, cap = local_gpu_spec(f)
    assert spec.id == "h100-sxm5" and cap.count == 2
    assert spec.usable_gib < 9


def test_local_gpu_spec_without_gpu_raises_click_exception(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(click.ClickException, match="no local GPU to size for"):
        local_gpu_spec()


def test_cli_module_is_import_light() -> None:
    code = (
        "import sys, ui.cli_probe; "
        "print(sorted(m for m in sys.modules if m.startswith(('tools', 'pydantic', 'pynvml'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
