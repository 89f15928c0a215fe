"""The pure parsers on layouts the real fixtures do not cover.

The texts below are constructed from the layouts documented in the nvidia-smi man page and
NVIDIA's MIG user guide (header, units, N/A, MIG devices, processes, WDDM, R4xx widths); the
real pastes are exercised in test_probe_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.probe import ProbeResult, UnrecognisedOutputError, parse_paste
from tools.probe.parse_smi_csv import parse_compute_apps, parse_csv
from tools.probe.values import cuda_from_int, mem_bytes

MIB = 1024**2

MIG_TABLE = """\
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 470.57.02    Driver Version: 470.57.02    CUDA Version: 11.4     |
|-------------------------------+----------------------+----------------------+
| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp  Perf  Pwr:Usage/Cap|         Memory-Usage | GPU-Util  Compute M. |
|                               |                      |               MIG M. |
|===============================+======================+======================|
|   0  A100-SXM4-40GB      On   | 00000000:36:00.0 Off |                    0 |
| N/A   29C    P0    62W / 400W |     38MiB / 40536MiB |     N/A      Default |
|                               |                      |              Enabled |
+-------------------------------+----------------------+----------------------+

+-----------------------------------------------------------------------------+
| MIG devices:                                                                |
+------------------+----------------------+-----------+-----------------------+
| GPU  GI  CI  MIG |         Memory-Usage |        Vol|         Shared        |
|      ID  ID  Dev |           BAR1-Usage | SM     Unc| CE  ENC  DEC  OFA  JPG|
|                  |                      |        ECC|                       |
|==================+======================+===========+=======================|
|  0    1   0   0  |   1519MiB / 20096MiB | 42      0 |  3   0    2    0    0 |
|                  |      0MiB / 32767MiB |           |                       |
+------------------+----------------------+-----------+-----------------------+
|  0    2   0   1  |     13MiB / 20096MiB | 42      0 |  3   0    2    0    0 |
|                  |      0MiB / 32767MiB |           |                       |
+------------------+----------------------+-----------+-----------------------+

+-----------------------------------------------------------------------------+
| Processes:                                                                  |
|  GPU   GI   CI        PID   Type   Process name                  GPU Memory |
|        ID   ID                                                   Usage      |
|=============================================================================|
|    0    1    0      4321      C   python                           1500MiB |
+-----------------------------------------------------------------------------+
"""

OLD_TABLE_TWO_GPUS = """\
$ nvidia-smi
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 418.87.01    Driver Version: 418.87.01    CUDA Version: 10.1     |
|-------------------------------+----------------------+----------------------+
| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp  Perf  Pwr:Usage/Cap|         Memory-Usage | GPU-Util  Compute M. |
|===============================+======================+======================|
|   0  Tesla V100-SXM2...  On   | 00000000:00:1E.0 Off |                    0 |
| N/A   34C    P0    41W / 300W |  12010MiB / 16160MiB |      0%      Default |
+-------------------------------+----------------------+----------------------+
|   1  Tesla T4            Off  | 00000000:00:1F.0 Off |                    0 |
| N/A   40C    P8    10W /  70W |      0MiB / 15079MiB |      0%      Default |
+-------------------------------+----------------------+----------------------+

+-----------------------------------------------------------------------------+
| Processes:                                                       GPU Memory |
|  GPU       PID   Type   Process name                             Usage      |
|=============================================================================|
|    0      2211      C   /usr/bin/python3                           12000MiB |
+-----------------------------------------------------------------------------+
"""

WINDOWS_ROW = """\
| NVIDIA-SMI 546.33                 Driver Version: 546.33       CUDA Version: 12.3     |
|=========================================+======================+======================|
|   0  NVIDIA GeForce RTX 3090      WDDM  | 00000000:01:00.0  On |                  N/A |
| 30%   45C    P8              31W / 350W |   1675MiB / 24576MiB |      3%      Default |
|                                         |                      |                  N/A |
+-----------------------------------------+----------------------+----------------------+
|    0   N/A  N/A      7412    C+G   ...crosoft\\Edge\\Application\\msedge.exe    N/A      |
"""


def test_mig_table_reads_instances_and_processes() -> None:
    result = parse_paste(MIG_TABLE)
    (gpu,) = result.gpus
    assert gpu.name == "A100-SXM4-40GB" and gpu.catalog_id == "a100-40gb-sxm4"
    assert gpu.mig_enabled is True
    assert [(m.gpu_instance, m.index, m.total_bytes) for m in gpu.mig_devices] == [
        (1, 0, 20096 * MIB), (2, 1, 20096 * MIB)]
    assert gpu.mig_devices[0].free_bytes == (20096 - 1519) * MIB
    assert [(p.pid, p.name, p.used_bytes) for p in gpu.processes] == [(4321, "python", 1500 * MIB)]
    assert not result.warnings


def test_old_layout_truncated_name_and_processes_without_gi_ci() -> None:
    result = parse_paste(OLD_TABLE_TWO_GPUS)
    v100, t4 = result.gpus
    assert (v100.name, v100.total_bytes, v100.used_bytes) == (
        "Tesla V100-SXM2...", 16160 * MIB, 12010 * MIB)
    assert (v100.catalog_id, v100.catalog_match) == ("v100-16gb-sxm2", "approximate")
    assert (t4.catalog_id, t4.catalog_match) == ("t4", "exact")
    assert [(p.pid, p.used_bytes) for p in v100.processes] == [(2211, 12000 * MIB)]
    assert any("truncated the name" in w for w in result.warnings)
    assert not any("stops inside" in w for w in result.warnings)


def test_windows_wddm_row_and_na_process_memory() -> None:
    (gpu,) = parse_paste(WINDOWS_ROW).gpus
    assert (gpu.name, gpu.total_bytes, gpu.catalog_id) == (
        "NVIDIA GeForce RTX 3090", 24576 * MIB, "rtx-3090")


def test_windows_process_row_is_not_a_gpu() -> None:
    text = WINDOWS_ROW.replace("|    0   N/A", "|    1   N/A")  # a process row without header
    assert [g.index for g in parse_paste(text).gpus] == [0]


H100_FIXTURE = Path(__file__).parent / "fixtures/nvidia-smi/h100_table_wilicc-gpu-burn-114.txt"


def test_paste_cut_inside_a_gpu_block() -> None:
    lines = H100_FIXTURE.read_text(encoding="utf-8").splitlines()
    cut = "\n".join(lines[:10]) + "\n" + lines[10][:60]  # GPU 0 row, half its memory line
    result = parse_paste(cut)
    (gpu,) = result.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3" and gpu.total_bytes is None
    assert any("GPU 0: no memory line" in w for w in result.warnings)
    assert any("stops inside the GPU list" in w for w in result.warnings)


def test_header_only_paste_is_a_result_without_gpus() -> None:
    head = "\n".join(H100_FIXTURE.read_text(encoding="utf-8").splitlines()[:6])
    result = parse_paste(head)
    assert not result.ok and result.reason == "the nvidia-smi output lists no GPU"


def test_indented_paste() -> None:
    text = "\n".join("    " + ln for ln in H100_FIXTURE.read_text(encoding="utf-8").splitlines())
    assert [g.total_bytes for g in parse_paste(text).gpus] == [81559 * MIB] * 2


def test_csv_with_header_and_units_several_gpus() -> None:
    text = (
        "index, name, memory.total [MiB], memory.used [MiB], memory.free [MiB]\n"
        "0, NVIDIA H100 80GB HBM3, 81559 MiB, 72790 MiB, 8769 MiB\n"
        "1, NVIDIA H100 80GB HBM3, 81559 MiB, 0 MiB, 81559 MiB\n"
    )
    result = parse_paste(text)
    assert result.format == "nvidia-smi csv"
    assert [(g.index, g.total_bytes, g.free_bytes) for g in result.gpus] == [
        (0, 81559 * MIB, 8769 * MIB), (1, 81559 * MIB, 81559 * MIB)]


def test_csv_man_page_shape_without_header() -> None:
    (gpu,) = parse_paste("NVIDIA H100 80GB HBM3, 81559, 72790").gpus
    assert (gpu.total_bytes, gpu.used_bytes, gpu.catalog_id) == (
        81559 * MIB, 72790 * MIB, "h100-sxm5")


def test_csv_na_values_survive_nounits() -> None:
    line = "0, NVIDIA GB10, GPU-0aa1, [N/A], [N/A], [N/A], 580.95.05, 12.1, [N/A]"
    (gpu,) = parse_csv(line).gpus
    assert gpu.name == "NVIDIA GB10" and gpu.total_bytes is None and gpu.mig_enabled is None
    assert gpu.compute_capability == "12.1" and gpu.driver_version == "580.95.05"


def test_csv_with_unknown_columns_asks_for_the_header() -> None:
    with pytest.raises(UnrecognisedOutputError, match="keep the header line"):
        parse_csv("NVIDIA H100 80GB HBM3, 81559, 72790, 42, 17, 3")


def test_compute_apps_by_uuid() -> None:
    text = "gpu_uuid, pid, process_name, used_gpu_memory [MiB]\nGPU-1, 99, vllm, 70000\nGPU-1, 7, x, [N/A]"
    procs = parse_compute_apps(text)["GPU-1"]
    assert [(p.pid, p.used_bytes) for p in procs] == [(99, 70000 * MIB), (7, None)]


def test_nvidia_smi_list() -> None:
    text = (
        "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5a1c)\n"
        "  MIG 3g.40gb     Device  0: (UUID: MIG-aa)\n"
        "  MIG 3g.40gb     Device  1: (UUID: MIG-bb)\n"
        "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-77de)\n"
    )
    result = parse_paste(text)
    assert result.format == "nvidia-smi -L" and len(result.gpus) == 2
    assert [m.name for m in result.gpus[0].mig_devices] == ["3g.40gb", "3g.40gb"]
    assert result.gpus[0].catalog_id == "a100-80gb-sxm4" and result.gpus[0].total_bytes is None


@pytest.mark.parametrize("text", [
    "No devices were found",
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure ...",
])
def test_no_device_pastes_are_results_not_errors(text: str) -> None:
    result = parse_paste(text)
    assert not result.ok and "nvidia-smi reports" in result.reason


@pytest.mark.parametrize("text", ["", "   \n", "hello world", "Traceback (most recent call last):"])
def test_unrecognised_pastes_raise_a_typed_error(text: str) -> None:
    with pytest.raises(UnrecognisedOutputError, match="Paste one of"):
        parse_paste(text)


def test_code_fences_and_crlf_are_ignored() -> None:
    text = "```\r\nNVIDIA H100 80GB HBM3, 81559, 72790\r\n```\r\n"
    assert parse_paste(text).gpus[0].total_bytes == 81559 * MIB


def test_headroom_json_round_trips() -> None:
    first = parse_paste(MIG_TABLE)
    again = parse_paste(first.model_dump_json())
    assert again.gpus == first.gpus
    assert again.format == "headroom json (nvidia-smi table)"
    assert ProbeResult.model_validate_json(first.model_dump_json()).gpus == first.gpus


def test_helpers() -> None:
    assert cuda_from_int(12020) == "12.2" and cuda_from_int(13030) == "13.3"
    assert mem_bytes("81559 MiB") == 81559 * MIB and mem_bytes("[N/A]") is None
    assert mem_bytes("21458059264", "B") == 21458059264


_names = st.sampled_from(["NVIDIA H100 80GB HBM3", "NVIDIA A10G", "Tesla T4", "NVIDIA L40S"])


@given(rows=st.lists(st.tuples(_names, st.integers(1024, 200_000), st.integers(0, 1024)),
                     min_size=1, max_size=8),
       header=st.booleans(), units=st.booleans())
def test_csv_round_trip(rows: list[tuple[str, int, int]], header: bool, units: bool) -> None:
    unit = " MiB" if units else ""
    lines = ["index, name, memory.total [MiB], memory.used [MiB]"] if header else []
    lines += [f"{i}, {n}, {t}{unit}, {min(u, t)}{unit}" for i, (n, t, u) in enumerate(rows)]
    result = parse_csv("\n".join(lines))
    assert [(g.index, g.name, g.total_bytes, g.used_bytes) for g in result.gpus] == [
        (i, n, t * MIB, min(u, t) * MIB) for i, (n, t, u) in enumerate(rows)]
