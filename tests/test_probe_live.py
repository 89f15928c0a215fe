"""The live probe against fakes: a fake ``nvidia-smi``/``rocm-smi`` on PATH, a fake NVML module.

NVML is made absent by putting ``None`` in ``sys.modules["pynvml"]`` (import then fails), so the
tests behave the same whether or not nvidia-ml-py is installed. The ``gpu``-marked test runs the
real probe and is skipped where ``nvidia-smi`` is absent.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tools.probe import live, probe_gpus, probe_local

MIB = 1024**2
GIB = 1024**3

QUERY_OUT = (
    "index, name, uuid, memory.total [MiB], memory.used [MiB], memory.free [MiB], "
    "driver_version, compute_cap, mig.mode.current\n"
    "0, NVIDIA H100 80GB HBM3, GPU-aaa, 81559, 72790, 8296, 550.90.07, 9.0, Disabled\n"
    "1, NVIDIA H100 80GB HBM3, GPU-bbb, 81559, 0, 81086, 550.90.07, 9.0, Disabled\n"
)
APPS_OUT = "gpu_uuid, pid, process_name, used_gpu_memory [MiB]\nGPU-aaa, 4242, vllm, 72780\n"


def _script(tmp_path: Path, name: str, body: str) -> str:
    """Write an executable shell script ``name`` into tmp_path/bin; return PATH with it first."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    exe = folder / name
    exe.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    exe.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PATH holds only an empty tmp folder: no nvidia-smi, no rocm-smi."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def _fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query_body: str) -> None:
    (tmp_path / "query.csv").write_text(QUERY_OUT, encoding="utf-8")
    (tmp_path / "apps.csv").write_text(APPS_OUT, encoding="utf-8")
    body = (
        'case "$1" in\n'
        f"  --query-gpu=*) {query_body} ;;\n"
        f'  --query-compute-apps=*) cat "{tmp_path}/apps.csv" ;;\n'
        "  *) echo unexpected; exit 9 ;;\n"
        "esac\n"
    )
    monkeypatch.setenv("PATH", _script(tmp_path, "nvidia-smi", body))


@pytest.mark.usefixtures("no_nvml")
def test_fake_nvidia_smi_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_smi(tmp_path, monkeypatch, f'cat "{tmp_path}/query.csv"')
    result = probe_local()
    assert result.ok and result.source == "nvidia-smi"
    a, b = result.gpus
    assert (a.name, a.total_bytes, a.used_bytes, a.free_bytes) == (
        "NVIDIA H100 80GB HBM3", 81559 * MIB, 72790 * MIB, 8296 * MIB)
    assert (a.compute_capability, a.mig_enabled, a.catalog_id) == ("9.0", False, "h100-sxm5")
    assert [(p.pid, p.name, p.used_bytes) for p in a.processes] == [(4242, "vllm", 72780 * MIB)]
    assert b.processes == ()


@pytest.mark.usefixtures("no_nvml")
def test_pre_r510_driver_retries_without_compute_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        'case "$1" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\';'
        f' exit 2 ;; *) cat "{tmp_path}/query.csv" ;; esac'
    )
    _fake_smi(tmp_path, monkeypatch, body)
    assert probe_local().gpus[0].total_bytes == 81559 * MIB


@pytest.mark.usefixtures("no_nvml", "empty_path")
def test_no_gpu_is_a_result_with_every_reason() -> None:
    result = probe_local()
    assert not result.ok and result.source == "none"
    assert "NVML: nvidia-ml-py (pynvml) is not installed" in result.reason
    assert "nvidia-smi: nvidia-smi is not on PATH" in result.reason
    assert "rocm-smi: rocm-smi is not on PATH" in result.reason
    assert probe_gpus() == f"No GPU found: {result.reason}"  # the agent tool's answer


@pytest.mark.usefixtures("no_nvml")
def test_failing_driver_message_is_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    msg = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    monkeypatch.setenv("PATH", _script(tmp_path, "nvidia-smi", f'echo "{msg}"; exit 9\n'))
    result = probe_local()
    assert not result.ok and f"nvidia-smi failed: {msg}" in result.reason


@pytest.mark.usefixtures("no_nvml")
def test_hanging_nvidia_smi_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _script(tmp_path, "nvidia-smi", "exec sleep 5\n"))
    result = probe_local(timeout_s=0.2)
    assert not result.ok and "did not answer within 0.2 s" in result.reason


@pytest.mark.usefixtures("no_nvml")
def test_fake_rocm_smi_when_no_nvidia(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture = Path(__file__).parent / "fixtures/nvidia-smi/rocm-smi_json_rx7900xt_marimo-9237.json"
    body = f'echo "WARNING: AMD GPU device(s) is/are in a low-power state."\ncat "{fixture}"\n'
    _script(tmp_path, "nvidia-smi", "echo 'No devices were found'; exit 6\n")
    monkeypatch.setenv("PATH", _script(tmp_path, "rocm-smi", body))
    result = probe_local()
    assert result.source == "rocm-smi" and result.gpus[0].name == "Radeon RX 7900 XT"
    assert result.gpus[0].total_bytes == 21458059264


# --- a fake NVML module (a fake, not a mock: it keeps state and follows pynvml's API) ---------


class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801  (pynvml's own class name)
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801
    pass


@dataclass
class FakeDevice:
    name: str
    total: int
    used: int
    cc: tuple[int, int] = (9, 0)
    mig: tuple[int, int] | None = None
    migs: list[FakeDevice] = field(default_factory=list)
    procs: list[tuple[int, int | None]] = field(default_factory=list)


class FakeNvml:
    """Enough of pynvml for the probe: devices, memory v1/v2, MIG, processes, shutdown."""

    NVMLError = NVMLError
    nvmlMemory_v2 = 0x02000028

    def __init__(self, devices: list[FakeDevice], fail_init: type[Exception] | None = None):
        self.devices = devices
        self.fail_init = fail_init
        self.calls: list[str] = []

    def nvmlInit(self) -> None:
        self.calls.append("init")
        if self.fail_init:
            raise self.fail_init("NVML Shared Library Not Found")

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeDevice:
        return self.devices[i]

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.90.07"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetName(self, h: FakeDevice) -> bytes:
        return h.name.encode()  # old bindings return bytes

    def nvmlDeviceGetUUID(self, h: FakeDevice) -> str:
        return f"GPU-{h.name[-4:]}"

    def nvmlDeviceGetMemoryInfo(self, h: FakeDevice, version: int | None = None) -> Any:
        return SimpleNamespace(total=h.total, used=h.used, free=h.total - h.used)

    def nvmlDeviceGetCudaComputeCapability(self, h: FakeDevice) -> tuple[int, int]:
        return h.cc

    def nvmlDeviceGetMigMode(self, h: FakeDevice) -> tuple[int, int]:
        if h.mig is None:
            raise NVMLError_NotSupported("Not Supported")
        return h.mig

    def nvmlDeviceGetMaxMigDeviceCount(self, h: FakeDevice) -> int:
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: FakeDevice, j: int) -> FakeDevice:
        if j >= len(h.migs):
            raise NVMLError("Not Found")
        return h.migs[j]

    def nvmlDeviceGetGpuInstanceId(self, h: FakeDevice) -> int:
        return 1

    def nvmlDeviceGetComputeInstanceId(self, h: FakeDevice) -> int:
        return 0

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeDevice) -> list[Any]:
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in h.procs]

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        raise NVMLError("No permission")  # common in containers: pids of another namespace


def test_nvml_reads_devices_processes_and_mig() -> None:
    mig = FakeDevice("NVIDIA A100-SXM4-80GB MIG 3g.40gb", 40 * GIB, 2 * GIB)
    nvml = FakeNvml([
        FakeDevice("NVIDIA H100 80GB HBM3", 81559 * MIB, 1000 * MIB, procs=[(11, 900 * MIB),
                                                                         (12, None)]),
        FakeDevice("NVIDIA A100-SXM4-80GB", 81920 * MIB, 0, cc=(8, 0), mig=(1, 1), migs=[mig]),
    ])
    result = probe_local(nvml=nvml)
    assert result.source == "nvml" and nvml.calls == ["init", "shutdown"]
    h100, a100 = result.gpus
    assert (h100.name, h100.cuda_version, h100.compute_capability) == (
        "NVIDIA H100 80GB HBM3", "12.4", "9.0")
    assert h100.free_bytes == 80559 * MIB and h100.mig_enabled is None
    assert [(p.pid, p.used_bytes, p.name) for p in h100.processes] == [
        (11, 900 * MIB, ""), (12, None, "")]
    assert a100.mig_enabled and a100.catalog_id == "a100-80gb-sxm4"
    (inst,) = a100.mig_devices
    assert (inst.name, inst.total_bytes, inst.free_bytes) == (mig.name, 40 * GIB, 38 * GIB)


@pytest.mark.usefixtures("empty_path")
def test_nvml_without_driver_falls_through() -> None:
    nvml = FakeNvml([], fail_init=NVMLError_LibraryNotFound)
    result = probe_local(nvml=nvml)
    assert not result.ok and "NVML library (libnvidia-ml.so.1) not found" in result.reason
    assert nvml.calls == ["init"]


@pytest.mark.usefixtures("empty_path")
def test_nvml_with_no_device() -> None:
    assert "NVML sees no NVIDIA device" in probe_local(nvml=FakeNvml([])).reason


def test_nvml_is_tried_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_smi(tmp_path, monkeypatch, "exit 99")  # would fail if it were reached
    result = live.probe_local(nvml=FakeNvml([FakeDevice("Tesla T4", 15360 * MIB, 0, cc=(7, 5))]))
    assert result.source == "nvml" and result.gpus[0].name == "Tesla T4"


@pytest.mark.gpu
@pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="nvidia-smi is absent")
def test_real_probe_on_a_gpu_machine() -> None:
    result = probe_local()
    assert result.ok, result.reason
    for g in result.gpus:
        assert g.name and g.total_bytes and g.total_bytes > GIB
        assert g.free_bytes is not None and g.free_bytes <= g.total_bytes
    smi = live.probe_nvidia_smi()
    assert [g.name for g in smi.gpus] == [g.name for g in result.gpus]
    for a, b in zip(smi.gpus, result.gpus, strict=True):  # nvidia-smi rounds to MiB
        assert a.total_bytes is not None and b.total_bytes is not None
        assert abs(a.total_bytes - b.total_bytes) < MIB
