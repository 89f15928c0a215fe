"""Every real fixture in tests/fixtures/nvidia-smi parses to the right names, counts and totals.

The fixtures are verbatim pastes from public GitHub threads (sources in the folder's README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.probe import parse_paste

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
MIB = 1024**2


@dataclass(frozen=True)
class Expect:
    fmt: str
    names: tuple[str, ...]
    totals: tuple[int | None, ...]
    """bytes per GPU, None where the paste has no memory figure"""
    used: tuple[int | None, ...] = ()
    driver: str = ""
    cuda: str = ""
    catalog: tuple[str | None, ...] = ()
    truncated: bool = False


EXPECTED = {
    "a100-80gb-mig_table_canonical-lxd-11804.txt": Expect(
        "nvidia-smi table", ("NVIDIA A100-SXM4-80GB",) * 2, (81920 * MIB,) * 2, (0, 0),
        "530.41.03", "12.1", ("a100-80gb-sxm4",) * 2, truncated=True),
    "a10_nvml-go-json_detect-gpu-3.txt": Expect(
        "nvml json", ("NVIDIA A10",) * 4, (24146608128,) * 3 + (None,),
        (1257242624, 541917184, 541917184, None), "535.129.03", "12.2", ("a10",) * 4,
        truncated=True),
    "a10g_table_NVIDIA-DCGM-232.txt": Expect(
        "nvidia-smi table", ("NVIDIA A10G",), (23028 * MIB,), (8722 * MIB,),
        "535.247.01", "12.2", ("a10g-aws-g5",)),
    "b200_table_r610-kmd-header_sglang-27487.txt": Expect(
        "nvidia-smi table", ("NVIDIA B200",) * 2, (183359 * MIB,) * 2, (0, 0),
        "610.43.02", "13.3", ("b200-hgx",) * 2, truncated=True),
    "h100_table_wilicc-gpu-burn-114.txt": Expect(
        "nvidia-smi table", ("NVIDIA H100 80GB HBM3",) * 2, (81559 * MIB,) * 2,
        (72790 * MIB,) * 2, "550.90.07", "12.4", ("h100-sxm5",) * 2, truncated=True),
    "h100nvl_csv-noheader_akash-provider-configs-91.csv": Expect(
        "nvidia-smi csv", ("NVIDIA H100 NVL",), (None,), catalog=("h100-nvl",)),
    "rocm-smi_csv_rx6800-raphael_LocalAI-7761.csv": Expect(
        "rocm-smi csv", ("Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]",), (17163091968,),
        (692142080,), catalog=(None,)),
    "rocm-smi_json_rx7900xt_marimo-9237.json": Expect(
        "rocm-smi json", ("Radeon RX 7900 XT",), (21458059264,), (27856896,), catalog=(None,)),
    "rtx2080_csv-noheader-nounits_Ricks-Lab-gpu-utils-83.csv": Expect(
        "nvidia-smi csv", ("GeForce RTX 2080",), (7979 * MIB,), (None,), "440.64",
        catalog=(None,)),
    "rtx4090_table_RLinf-255.txt": Expect(
        "nvidia-smi table", ("NVIDIA GeForce RTX 4090",) * 2, (24564 * MIB,) * 2,
        (507 * MIB, 459 * MIB), "550.163.01", "12.4", ("rtx-4090",) * 2, truncated=True),
    "rtx4090d_table_SpatialLM-28.txt": Expect(
        "nvidia-smi table", ("NVIDIA GeForce RTX 4090 D",), (24564 * MIB,), (1 * MIB,),
        "550.107.02", "12.4", ("rtx-4090",)),
}


def test_every_fixture_has_an_expectation() -> None:
    files = {p.name for p in FIXTURES.iterdir() if p.name != "README.md"}
    assert files == set(EXPECTED)


def test_readme_names_every_fixture() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    want = EXPECTED[name]
    result = parse_paste((FIXTURES / name).read_text(encoding="utf-8"))
    assert result.ok and result.source == "paste" and result.format == want.fmt
    assert tuple(g.name for g in result.gpus) == want.names
    assert tuple(g.total_bytes for g in result.gpus) == want.totals
    if want.used:
        assert tuple(g.used_bytes for g in result.gpus) == want.used
    complete = [g for g in result.gpus if g.total_bytes is not None]
    assert {g.driver_version for g in complete} <= {want.driver}
    assert {g.cuda_version for g in complete} <= {want.cuda}
    for g in complete:
        if g.total_bytes is not None and g.used_bytes is not None:
            assert g.free_bytes == g.total_bytes - g.used_bytes
    if want.catalog:
        assert tuple(g.catalog_id for g in result.gpus) == want.catalog
    stopped = any("stops inside" in w for w in result.warnings)
    assert stopped == want.truncated


def test_mig_fixture_reports_mig_enabled() -> None:
    text = (FIXTURES / "a100-80gb-mig_table_canonical-lxd-11804.txt").read_text(encoding="utf-8")
    assert all(g.mig_enabled for g in parse_paste(text).gpus)
    text = (FIXTURES / "b200_table_r610-kmd-header_sglang-27487.txt").read_text(encoding="utf-8")
    assert not any(g.mig_enabled for g in parse_paste(text).gpus)


def test_rocm_csv_skips_the_integrated_gpu() -> None:
    text = (FIXTURES / "rocm-smi_csv_rx6800-raphael_LocalAI-7761.csv").read_text(encoding="utf-8")
    result = parse_paste(text)
    assert [g.index for g in result.gpus] == [0]
    assert result.gpus[0].vendor == "amd" and result.gpus[0].arch == "gfx1030"
    assert any("skipped integrated GPU card1 (Raphael, 64 MiB)" in w for w in result.warnings)


def test_nvml_json_keeps_processes_and_the_truncated_record() -> None:
    text = (FIXTURES / "a10_nvml-go-json_detect-gpu-3.txt").read_text(encoding="utf-8")
    result = parse_paste(text)
    first = result.gpus[0]
    assert first.uuid == "GPU-749a4951-86af-0c5a-2a58-67aa5ebf9d4e"
    assert [(p.pid, p.used_bytes, p.kind) for p in first.processes] == [(1905, 706740224, "G")]
    assert result.gpus[3].index == 3 and result.gpus[3].total_bytes is None
    assert any("stops inside GPU 3" in w for w in result.warnings)


def test_rtx4090d_maps_to_the_4090_entry() -> None:
    # the catalog lists "RTX 4090 D" as an alias of the RTX 4090 (same 24 GB)
    text = (FIXTURES / "rtx4090d_table_SpatialLM-28.txt").read_text(encoding="utf-8")
    gpu = parse_paste(text).gpus[0]
    assert gpu.catalog_id == "rtx-4090"
