"""Catalog matching of detected cards and the capacity ``--gpu local`` plans on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.probe import (
    NoLocalGpuError,
    ProbeResult,
    capacity_spec,
    local_capacity,
    match_name,
    parse_paste,
    probe_gpus,
)
from tools.probe.match import attach_catalog
from tools.probe.models import DetectedGpu, MigDevice

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
MIB = 1024**2
GIB = 1024**3


@pytest.mark.parametrize(("name", "total_mib", "want", "kind"), [
    ("NVIDIA A100-SXM4-80GB", 81920, "a100-80gb-sxm4", "exact"),
    ("NVIDIA A100-SXM4-80GB MIG 3g.40gb", None, "a100-80gb-sxm4", "exact"),
    ("NVIDIA H100 80GB HBM3", 81559, "h100-sxm5", "exact"),
    ("NVIDIA H100 NVL", None, "h100-nvl", "exact"),
    ("NVIDIA GeForce RTX 4090", 24564, "rtx-4090", "exact"),
    ("Tesla T4", 15360, "t4", "exact"),
    ("NVIDIA A10G", 23028, "a10g-aws-g5", "exact"),
    ("NVIDIA A10", 23028, "a10", "exact"),
    ("NVIDIA GeForce RTX 4090 D", 24564, "rtx-4090", "exact"),
    ("Tesla V100-PCIE-32GB", 32510, "v100-32gb-sxm2", "exact"),
    ("Tesla V100-SXM2...", 16160, "v100-16gb-sxm2", "approximate"),
    ("NVIDIA RTX 5000 Ada Generation", 32760, "rtx-5000-ada-generation", "exact"),
    ("NVIDIA GeForce RTX 4080 SUPER", 16376, "rtx-4080-super", "exact"),
    # one name, two sizes: the reported total picks the variant
    ("NVIDIA GeForce RTX 3080", 10240, "rtx-3080-10gb", "exact"),
    ("NVIDIA GeForce RTX 3080", 12288, "rtx-3080-12gb", "exact"),
    ("NVIDIA GeForce RTX 4060 Ti", 8188, "rtx-4060-ti-8gb", "exact"),
    ("NVIDIA GeForce RTX 4060 Ti", 16380, "rtx-4060-ti-16gb", "exact"),
    ("Tesla P100-PCIE-12GB", 12198, "p100-12gb-pcie", "exact"),
    ("Tesla P40", 22919, "p40", "exact"),
    ("AMD Instinct MI250X", 65520, "mi250x", "exact"),  # one of its two dies, as ROCm lists it
])
def test_match_name(name: str, total_mib: int | None, want: str, kind: str) -> None:
    spec, got = match_name(name, total_mib * MIB if total_mib else None)
    assert spec is not None and (spec.id, got) == (want, kind)


@pytest.mark.parametrize(("name", "total_mib"), [
    ("GeForce RTX 2080", 7979),
    ("Radeon RX 7900 XT", 20464),
    ("NVIDIA RTX 4000 Ada Generation", 20475),  # same size as the RTX A4500: "RTX" alone is too vague
    ("NVIDIA GeForce RTX 4070 SUPER", None),  # approximate needs the memory to agree
    ("NVIDIA GeForce RTX 4070 SUPER", 12282),  # 4070 and 4070 Ti both 12 GB: ambiguous
    ("Quadro RTX 6000", 24576),  # not the 48 GB RTX 6000 Ada its short name resolves to
    ("NVIDIA GeForce RTX 3060", 8192),  # the 8 GB RTX 3060 is not in the catalog
])
def test_no_match(name: str, total_mib: int | None) -> None:
    assert match_name(name, total_mib * MIB if total_mib else None) == (None, "none")


def _result(*gpus: DetectedGpu) -> ProbeResult:
    return attach_catalog(ProbeResult(source="paste", gpus=gpus))


def test_capacity_of_identical_gpus_takes_the_fullest_card() -> None:
    text = (FIXTURES / "rtx4090_table_RLinf-255.txt").read_text(encoding="utf-8")
    cap = local_capacity(parse_paste(text))
    assert (cap.count, cap.catalog_id, cap.total_bytes) == (2, "rtx-4090", 24564 * MIB)
    assert cap.used_bytes == 507 * MIB
    assert cap.free_bytes == min((24564 - 507) * MIB, int(23.58 * GIB) - 507 * MIB)
    spec = capacity_spec(cap)
    assert spec.id == "rtx-4090" and spec.usable_bytes == pytest.approx(cap.free_bytes, abs=1)
    assert spec.memory_bandwidth_gbs > 0 and "probed" in spec.usable_basis


def test_capacity_counts_memory_used_by_other_processes() -> None:
    text = (FIXTURES / "h100_table_wilicc-gpu-burn-114.txt").read_text(encoding="utf-8")
    cap = local_capacity(parse_paste(text))
    assert cap.used_bytes == 72790 * MIB and cap.free_bytes < 9 * GIB
    assert any("already in use by other processes" in n for n in cap.notes)


def test_mixed_gpus_count_only_the_first_kind() -> None:
    cap = local_capacity(_result(
        DetectedGpu(index=0, name="NVIDIA L40S", total_bytes=46068 * MIB, used_bytes=0),
        DetectedGpu(index=1, name="Tesla T4", total_bytes=15360 * MIB, used_bytes=0),
    ))
    assert cap.count == 1 and cap.catalog_id == "l40s"
    assert any("GPU(s) 1 differ" in n for n in cap.notes)


def test_mig_capacity_is_one_instance() -> None:
    inst = MigDevice(name="3g.40gb", gpu_instance=1, total_bytes=40192 * MIB, used_bytes=0)
    cap = local_capacity(_result(DetectedGpu(
        index=0, name="NVIDIA A100-SXM4-80GB", total_bytes=81920 * MIB, used_bytes=0,
        mig_enabled=True, mig_devices=(inst,),
    )))
    assert (cap.count, cap.total_bytes, cap.free_bytes) == (1, 40192 * MIB, 40192 * MIB)


def test_unknown_card_works_with_its_reported_memory() -> None:
    text = (FIXTURES / "rocm-smi_json_rx7900xt_marimo-9237.json").read_text(encoding="utf-8")
    cap = local_capacity(parse_paste(text))
    spec = capacity_spec(cap)
    assert cap.catalog_id is None and spec.vendor == "AMD" and spec.id == "local-radeon-rx-7900-xt"
    assert spec.usable_bytes == pytest.approx(21458059264 - 27856896, abs=1)
    cap = local_capacity(_result(DetectedGpu(
        index=0, name="GeForce RTX 2080", total_bytes=7979 * MIB, compute_capability="7.5")))
    spec = capacity_spec(cap)
    assert not spec.supports_bf16 and not spec.flash_attention2


def test_name_only_paste_uses_the_catalog_memory() -> None:
    text = (FIXTURES / "h100nvl_csv-noheader_akash-provider-configs-91.csv").read_text()
    cap = local_capacity(parse_paste(text))
    assert cap.catalog_id == "h100-nvl" and cap.free_bytes == cap.total_bytes > 90 * GIB


def test_no_gpu_and_full_gpu_raise_typed_errors() -> None:
    with pytest.raises(NoLocalGpuError, match="no local GPU to size for: no driver"):
        local_capacity(ProbeResult(source="none", reason="no driver"))
    full = local_capacity(_result(DetectedGpu(
        index=0, name="Tesla T4", total_bytes=15360 * MIB, used_bytes=15360 * MIB)))
    with pytest.raises(NoLocalGpuError, match="has no free memory"):
        capacity_spec(full)
    with pytest.raises(NoLocalGpuError, match="reports no memory and is not in the catalog"):
        local_capacity(_result(DetectedGpu(index=0, name="Mystery GPU")))


def test_agent_tool_returns_text_or_the_error() -> None:
    text = (FIXTURES / "a10g_table_NVIDIA-DCGM-232.txt").read_text(encoding="utf-8")
    out = probe_gpus(text)
    assert out.startswith("1 GPU(s) from nvidia-smi table:") and "a10g-aws-g5" in out
    assert probe_gpus("hello").startswith("Error: cannot read the GPU output")
