"""Pure parsers for the human-readable ``nvidia-smi`` output: the table and ``nvidia-smi -L``.

The table layouts seen in the fixtures (``tests/fixtures/nvidia-smi``): R4xx 79 columns, R530/R535
89 columns ("Persistence-M|" with or without a space), R550+ 91 columns, R580+ with ``+---+`` as
the third line, and R610+ whose header reads ``KMD Version:`` / ``CUDA UMD Version:`` instead of
``Driver Version:`` / ``CUDA Version:``. Windows shows WDDM/TCC where Linux shows On/Off. Old
drivers truncate long names ("Tesla V100-SXM2..."). Pastes lose borders, keep shell prompts and
stop half-way; a truncated paste still yields the GPUs it shows, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .models import MIB, DetectedGpu, GpuProcess, MigDevice, ProbeResult

HEADER = re.compile(
    r"NVIDIA-SMI\s+(?P<smi>\S+)\s+(?:Driver|KMD)\s+Version:\s*(?P<drv>\S+)"
    r"(?:\s+CUDA(?:\s+UMD)?\s+Version:\s*(?P<cuda>\S+))?"
)
GPU_ROW = re.compile(
    r"^\s*\|?\s*(?P<idx>\d+)\s+(?P<name>\S.*?)\s+(?P<mode>On|Off|WDDM|TCC|N/A)\s*\|"
    r"\s*(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d)"
)
MEMORY = re.compile(r"(?P<used>\d+)\s*MiB\s*/\s*(?P<total>\d+)\s*MiB")
MIG_CELL = re.compile(r"\|\s*(?P<mig>Enabled|Disabled)\s*\|?\s*$")
MIG_ROW = re.compile(
    r"^\s*\|\s*(?P<gpu>\d+)\s+(?P<gi>\d+|N/A)\s+(?P<ci>\d+|N/A)\s+(?P<dev>\d+)\s*\|"
    r"\s*(?P<used>\d+)\s*MiB\s*/\s*(?P<total>\d+)\s*MiB"
)
PROCESS_ROW = re.compile(
    r"^\s*\|\s*(?P<gpu>\d+)\s+(?:(?:\d+|N/A)\s+(?:\d+|N/A)\s+)?(?P<pid>\d+)\s+"
    r"(?P<kind>C\+G|M\+C|C|G|M)\s+(?P<name>.*?)\s+(?P<mem>\d+|N/A)\s*(?:MiB)?\s*\|?\s*$"
)
LIST_ROW = re.compile(r"^GPU\s+(?P<idx>\d+):\s+(?P<name>.+?)\s+\(UUID:\s*(?P<uuid>[^)]+)\)")
LIST_MIG = re.compile(
    r"^\s+MIG\s+(?P<profile>\S+)\s+Device\s+(?P<dev>\d+):\s+\(UUID:\s*(?P<uuid>[^)]+)\)"
)
BORDER = re.compile(r"^\s*[+|]?[-=]{3,}[-=+|]*\s*$")


@dataclass
class _Gpu:
    """Mutable scratch record while scanning; turned into a frozen DetectedGpu at the end."""

    index: int
    name: str
    used: int | None = None
    total: int | None = None
    mig: bool | None = None
    migs: list[MigDevice] = field(default_factory=list)
    procs: list[GpuProcess] = field(default_factory=list)
    uuid: str = ""


def looks_like_table(text: str) -> bool:
    """True when the text holds an nvidia-smi header or at least one GPU row of its table."""
    return bool(HEADER.search(text)) or any(GPU_ROW.match(ln) for ln in text.splitlines())


def _scan_gpu_block(lines: list[str], i: int, gpu: _Gpu) -> tuple[int, bool]:
    """Read the memory and MIG lines below a GPU row; return the next index and if it closed."""
    j = i + 1
    while j < len(lines) and j <= i + 2:
        line = lines[j]
        if GPU_ROW.match(line) or BORDER.match(line):
            return j, BORDER.match(line) is not None
        if not line.strip():
            return j, False
        mem = MEMORY.search(line)
        if mem and gpu.total is None:
            gpu.used, gpu.total = int(mem["used"]) * MIB, int(mem["total"]) * MIB
        mig = MIG_CELL.search(line)
        if mig and j == i + 2:
            gpu.mig = mig["mig"] == "Enabled"
        j += 1
    closed = j < len(lines) and bool(BORDER.match(lines[j]))
    return j, closed


def parse_table(text: str) -> ProbeResult:
    """Parse a pasted ``nvidia-smi`` table (any driver layout, possibly truncated)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    header = HEADER.search(text)
    driver = header["drv"] if header else ""
    cuda = (header["cuda"] or "") if header else ""
    gpus: dict[int, _Gpu] = {}
    warnings: list[str] = []
    closed = True
    section = "gpus"
    i = 0
    while i < len(lines):
        line = lines[i]
        if HEADER.search(line):
            section = "gpus"  # a second table pasted after the first
        elif "MIG devices:" in line:
            section = "mig"
        elif "Processes:" in line:
            section = "processes"
        if section == "gpus" and (row := GPU_ROW.match(line)):
            gpu = _Gpu(index=int(row["idx"]), name=row["name"].strip())
            gpus.setdefault(gpu.index, gpu)
            i, closed = _scan_gpu_block(lines, i, gpu)
            continue
        if section == "mig" and (mrow := MIG_ROW.match(line)) and int(mrow["gpu"]) in gpus:
            gpus[int(mrow["gpu"])].migs.append(_mig_device(mrow))
        if section == "processes" and (prow := PROCESS_ROW.match(line)) and int(prow["gpu"]) in gpus:
            gpus[int(prow["gpu"])].procs.append(_process(prow))
        i += 1
    if not gpus:
        reason = "the nvidia-smi output lists no GPU"
        if "No devices were found" in text:
            reason = "nvidia-smi reports: No devices were found"
        return ProbeResult(source="paste", format="nvidia-smi table", reason=reason)
    if not closed:
        warnings.append(
            f"the paste stops inside the GPU list after GPU {max(gpus)}; more GPUs may be missing"
        )
    for g in gpus.values():
        if g.total is None:
            warnings.append(f"GPU {g.index}: no memory line in the paste")
        if g.name.endswith("..."):
            warnings.append(f"GPU {g.index}: the driver truncated the name to {g.name!r}")
    detected = tuple(_freeze(g, driver, cuda) for g in gpus.values())
    return ProbeResult(
        source="paste", format="nvidia-smi table", gpus=detected, warnings=tuple(warnings)
    )


def _mig_device(m: re.Match[str]) -> MigDevice:
    gi, ci = m["gi"], m["ci"]
    return MigDevice(
        gpu_instance=None if gi == "N/A" else int(gi),
        compute_instance=None if ci == "N/A" else int(ci),
        index=int(m["dev"]),
        used_bytes=int(m["used"]) * MIB,
        total_bytes=int(m["total"]) * MIB,
    )


def _process(m: re.Match[str]) -> GpuProcess:
    mem = None if m["mem"] == "N/A" else int(m["mem"]) * MIB
    return GpuProcess(pid=int(m["pid"]), name=m["name"].strip(), kind=m["kind"], used_bytes=mem)


def _freeze(g: _Gpu, driver: str, cuda: str) -> DetectedGpu:
    return DetectedGpu(
        index=g.index,
        name=g.name,
        uuid=g.uuid,
        total_bytes=g.total,
        used_bytes=g.used,
        driver_version=driver,
        cuda_version=cuda,
        mig_enabled=g.mig if g.mig is not None else (True if g.migs else None),
        mig_devices=tuple(g.migs),
        processes=tuple(g.procs),
    )


def looks_like_list(text: str) -> bool:
    """True for ``nvidia-smi -L`` output ("GPU 0: NVIDIA A100 ... (UUID: GPU-...)")."""
    return any(LIST_ROW.match(ln.strip()) for ln in text.splitlines())


def parse_list(text: str) -> ProbeResult:
    """Parse ``nvidia-smi -L``: names, UUIDs and MIG instances, but no memory figures."""
    gpus: list[_Gpu] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if row := LIST_ROW.match(line.strip()):
            gpus.append(_Gpu(index=int(row["idx"]), name=row["name"], uuid=row["uuid"].strip()))
        elif (mig := LIST_MIG.match(line)) and gpus:
            gpus[-1].migs.append(
                MigDevice(index=int(mig["dev"]), name=mig["profile"], uuid=mig["uuid"].strip())
            )
    warning = "nvidia-smi -L lists no memory; paste `nvidia-smi` (the table) for real free memory"
    return ProbeResult(
        source="paste",
        format="nvidia-smi -L",
        gpus=tuple(_freeze(g, "", "") for g in gpus),
        reason="" if gpus else "nvidia-smi -L lists no GPU",
        warnings=(warning,) if gpus else (),
    )
