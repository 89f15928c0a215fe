"""The probe's I/O: ask NVML, then ``nvidia-smi``, then ``rocm-smi`` what this machine has.

Order: NVML through ``nvidia-ml-py`` (``import pynvml``, optional: the ``probe`` extra), then
``nvidia-smi --query-gpu=... --format=csv,nounits``, then ``rocm-smi --json``. Each step returns a
:class:`ProbeResult`; the first that finds a GPU wins. No driver, no library or no device is a
result with a ``reason``, never an exception. Subprocesses run with a timeout. Parsing is left to
the pure ``parse_*`` modules; catalog matching to ``match.py``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from .errors import UnrecognisedOutputError
from .models import DetectedGpu, GpuProcess, MigDevice, ProbeResult, Source
from .parse_rocm import parse_rocm_json
from .parse_smi_csv import (
    APPS_FIELDS,
    QUERY_FIELDS,
    QUERY_FIELDS_OLD,
    parse_compute_apps,
    parse_csv,
)
from .values import cuda_from_int

TIMEOUT_S = 10.0
ROCM_ARGS = ("--showproductname", "--showmeminfo", "vram", "--json")
_NVML_REASONS = {
    "NVMLError_LibraryNotFound": "NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver",
    "NVMLError_DriverNotLoaded": "the NVIDIA driver is not loaded",
    "NVMLError_NoPermission": "no permission to query the NVIDIA driver",
}


def _none(source: Source, reason: str) -> ProbeResult:
    return ProbeResult(source=source, reason=reason)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def probe_nvml(nvml: Any = None) -> ProbeResult:
    """Read every device through NVML; ``nvml`` is the ``pynvml`` module (or a test fake)."""
    if nvml is None:
        try:
            import pynvml  # optional dependency (the `probe` extra), imported on use
        except ImportError:
            return _none("nvml", "nvidia-ml-py (pynvml) is not installed")
        nvml = pynvml
    error: type[BaseException] = getattr(nvml, "NVMLError", OSError)
    try:
        nvml.nvmlInit()
    except (error, OSError) as e:
        return _none("nvml", _NVML_REASONS.get(type(e).__name__, f"NVML failed: {e}"))
    try:
        return _read_nvml(nvml, error)
    except error as e:
        return _none("nvml", f"NVML failed: {e}")
    finally:
        try:
            nvml.nvmlShutdown()
        except error:
            pass


def _read_nvml(nvml: Any, error: type[BaseException]) -> ProbeResult:
    def opt(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except (error, AttributeError):
            return None

    count = nvml.nvmlDeviceGetCount()
    if not count:
        return _none("nvml", "NVML sees no NVIDIA device")
    driver = _text(opt(nvml.nvmlSystemGetDriverVersion) or "")
    cuda = opt(getattr(nvml, "nvmlSystemGetCudaDriverVersion_v2", None) or (lambda: None))
    cuda = cuda if cuda is not None else opt(nvml.nvmlSystemGetCudaDriverVersion)
    gpus = []
    for i in range(count):
        h = nvml.nvmlDeviceGetHandleByIndex(i)
        total, used, free = _memory(nvml, h, opt)
        cc = opt(nvml.nvmlDeviceGetCudaComputeCapability, h)
        mig = opt(nvml.nvmlDeviceGetMigMode, h)
        mig_on = bool(mig[0]) if mig else None
        gpus.append(
            DetectedGpu(
                index=i,
                name=_text(nvml.nvmlDeviceGetName(h)),
                uuid=_text(opt(nvml.nvmlDeviceGetUUID, h) or ""),
                total_bytes=total, used_bytes=used, free_bytes=free,
                driver_version=driver,
                cuda_version=cuda_from_int(cuda) if isinstance(cuda, int) else "",
                compute_capability=f"{cc[0]}.{cc[1]}" if cc else "",
                mig_enabled=mig_on,
                mig_devices=_mig_devices(nvml, h, opt) if mig_on else (),
                processes=_processes(nvml, h, opt),
            )
        )
    return ProbeResult(source="nvml", format="nvml", gpus=tuple(gpus))


def _memory(nvml: Any, h: Any, opt: Callable[..., Any]) -> tuple[int, int, int]:
    """total, used, free in bytes: v2 (used excludes driver-reserved memory) when available."""
    v2 = getattr(nvml, "nvmlMemory_v2", None)
    info = None
    if v2 is not None:
        try:
            info = nvml.nvmlDeviceGetMemoryInfo(h, version=v2)
        except Exception:  # older drivers and bindings reject v2 in several ways
            info = None
    info = info or nvml.nvmlDeviceGetMemoryInfo(h)
    return int(info.total), int(info.used), int(info.free)


def _mig_devices(nvml: Any, h: Any, opt: Callable[..., Any]) -> tuple[MigDevice, ...]:
    out = []
    for j in range(opt(nvml.nvmlDeviceGetMaxMigDeviceCount, h) or 0):
        mh = opt(nvml.nvmlDeviceGetMigDeviceHandleByIndex, h, j)
        if mh is None:
            continue
        mem = opt(nvml.nvmlDeviceGetMemoryInfo, mh)
        out.append(
            MigDevice(
                index=j,
                name=_text(opt(nvml.nvmlDeviceGetName, mh) or ""),
                uuid=_text(opt(nvml.nvmlDeviceGetUUID, mh) or ""),
                gpu_instance=opt(nvml.nvmlDeviceGetGpuInstanceId, mh),
                compute_instance=opt(nvml.nvmlDeviceGetComputeInstanceId, mh),
                total_bytes=int(mem.total) if mem else None,
                used_bytes=int(mem.used) if mem else None,
                free_bytes=int(mem.free) if mem else None,
            )
        )
    return tuple(out)


def _processes(nvml: Any, h: Any, opt: Callable[..., Any]) -> tuple[GpuProcess, ...]:
    seen: dict[int, GpuProcess] = {}
    for kind, fn_name in (("C", "nvmlDeviceGetComputeRunningProcesses"),
                          ("G", "nvmlDeviceGetGraphicsRunningProcesses")):
        fn = getattr(nvml, fn_name, None)
        for p in (opt(fn, h) if fn else None) or ():
            mem = getattr(p, "usedGpuMemory", None)
            name = opt(nvml.nvmlSystemGetProcessName, p.pid)
            seen.setdefault(p.pid, GpuProcess(
                pid=int(p.pid), name=_text(name or ""), kind=kind,
                used_bytes=int(mem) if isinstance(mem, int) and mem >= 0 else None,
            ))
    return tuple(seen.values())


def _run(args: list[str], timeout_s: float) -> tuple[int, str]:
    """Exit status and output (stdout, then stderr) of a command; 127/124 when absent/too slow."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        return 127, f"{args[0]} not found"
    except PermissionError:
        return 126, f"{args[0]} is not executable"
    except subprocess.TimeoutExpired:
        return 124, f"{args[0]} did not answer within {timeout_s:g} s"
    return done.returncode, done.stdout + done.stderr


def _first_line(output: str) -> str:
    return next((ln.strip() for ln in output.splitlines() if ln.strip()), "no output")


def probe_nvidia_smi(exe: str | None = None, timeout_s: float = TIMEOUT_S) -> ProbeResult:
    """``nvidia-smi --query-gpu`` (retrying without ``compute_cap`` on pre-R510 drivers)."""
    exe = exe or shutil.which("nvidia-smi")
    if exe is None:
        return _none("nvidia-smi", "nvidia-smi is not on PATH")
    for fields in (QUERY_FIELDS, QUERY_FIELDS_OLD):
        rc, out = _run([exe, "--query-gpu=" + ",".join(fields), "--format=csv,nounits"], timeout_s)
        if rc == 0 or "not a valid field" not in out:
            break
    if rc != 0:
        return _none("nvidia-smi", f"nvidia-smi failed: {_first_line(out)}")
    try:
        result = parse_csv(out, source="nvidia-smi")
    except UnrecognisedOutputError as e:
        return _none("nvidia-smi", str(e))
    if not result.ok:
        return result
    rc, apps = _run(
        [exe, "--query-compute-apps=" + ",".join(APPS_FIELDS), "--format=csv,nounits"], timeout_s
    )
    procs = parse_compute_apps(apps) if rc == 0 else {}
    gpus = tuple(g.model_copy(update={"processes": procs.get(g.uuid, ())}) for g in result.gpus)
    return result.model_copy(update={"gpus": gpus})


def probe_rocm_smi(exe: str | None = None, timeout_s: float = TIMEOUT_S) -> ProbeResult:
    """``rocm-smi --showproductname --showmeminfo vram --json`` for AMD GPUs."""
    exe = exe or shutil.which("rocm-smi")
    if exe is None:
        return _none("rocm-smi", "rocm-smi is not on PATH")
    rc, out = _run([exe, *ROCM_ARGS], timeout_s)
    if rc != 0 or "{" not in out:
        return _none("rocm-smi", f"rocm-smi failed: {_first_line(out)}")
    try:
        return parse_rocm_json(out, source="rocm-smi")
    except UnrecognisedOutputError as e:
        return _none("rocm-smi", str(e))


def probe_local(nvml: Any = None, timeout_s: float = TIMEOUT_S) -> ProbeResult:
    """NVML, then nvidia-smi, then rocm-smi; the first with a GPU, else every reason."""
    tried: list[ProbeResult] = []
    probes: tuple[Callable[[], ProbeResult], ...] = (
        lambda: probe_nvml(nvml),
        lambda: probe_nvidia_smi(timeout_s=timeout_s),
        lambda: probe_rocm_smi(timeout_s=timeout_s),
    )
    for probe in probes:
        result = probe()
        if result.ok:
            return result
        tried.append(result)
    names = {"nvml": "NVML"}
    reason = "; ".join(f"{names.get(r.source, r.source)}: {r.reason}" for r in tried)
    return ProbeResult(source="none", reason=reason)
