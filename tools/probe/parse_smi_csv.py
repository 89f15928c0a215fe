"""Pure parser for ``nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]`` output.

With a header (``name, memory.total [MiB], ...``) the columns are read by name and the unit in
brackets. Without one, the row is matched against known column orders (our own live query, the
man-page examples and queries found in real pastes), each column checked for its kind (an index
is a small integer, a name looks like a GPU name, a memory value is a number). ``N/A`` and
``[N/A]`` survive ``nounits`` (MIG, unified-memory parts) and read as "unknown".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence

from .errors import UnrecognisedOutputError
from .models import DetectedGpu, GpuProcess, ProbeResult
from .values import is_na, mem_bytes, to_int

QUERY_FIELDS = (
    "index", "name", "uuid", "memory.total", "memory.used", "memory.free",
    "driver_version", "compute_cap", "mig.mode.current",
)
"""What the live probe asks for; ``compute_cap`` needs R510+ (see ``QUERY_FIELDS_OLD``)."""
QUERY_FIELDS_OLD = tuple(f for f in QUERY_FIELDS if f != "compute_cap")
APPS_FIELDS = ("gpu_uuid", "pid", "process_name", "used_gpu_memory")
"""What the live probe asks ``--query-compute-apps`` for."""

KNOWN_LAYOUTS: tuple[tuple[str, ...], ...] = (
    QUERY_FIELDS,
    QUERY_FIELDS_OLD,
    ("index", "name", "memory.total", "memory.used", "memory.free"),
    ("name", "memory.total", "memory.used", "memory.free"),
    ("index", "name", "memory.total", "memory.used"),
    ("name", "memory.total", "memory.used"),  # nvidia-smi man page example
    ("name", "memory.total"),
    ("name", "pci.device_id"),  # akash-network/provider-configs#91
    (  # Ricks-Lab/gpu-utils#83
        "power.limit", "power.min_limit", "power.max_limit", "memory.total", "vbios_version",
        "driver_version", "name", "uuid", "power.draw", "temperature.gpu", "temperature.memory",
        "clocks.current.graphics", "clocks.sm", "clocks.mem", "utilization.gpu",
        "utilization.memory", "fan.speed", "pcie.link.width.current", "pstate",
    ),
    ("name",),
)
_ALIASES = {"gpu_name": "name", "gpu_uuid": "uuid", "gpu_bus_id": "pci.bus_id"}
_GPU_NAME = re.compile(
    r"(?i)\b(nvidia|geforce|tesla|quadro|titan|grid|rtx|gtx)\b|^[A-Z]{1,2}\d{2,4}[A-Z]?\b"
)
_HEADER_FIELD = re.compile(r"^(?P<key>[a-z_][a-z0-9_.]*)(?:\s*\[(?P<unit>[^\]]+)\])?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?(?:\s*[KMG]iB)?$")


def _is_name(v: str) -> bool:
    return bool(_GPU_NAME.search(v)) and not v.startswith(("GPU-", "0x"))


def _check(kind: str) -> Callable[[str], bool]:
    """The validator for one column kind in a headerless row."""
    checks: dict[str, Callable[[str], bool]] = {
        "index": lambda v: v.isdigit() and int(v) < 1024,
        "name": _is_name,
        "uuid": lambda v: v.startswith("GPU-") or is_na(v),
        "driver_version": lambda v: bool(re.fullmatch(r"\d+\.\d+(\.\d+)?", v)),
        "compute_cap": lambda v: bool(re.fullmatch(r"\d+\.\d+", v)) or is_na(v),
        "mig.mode.current": lambda v: v in ("Enabled", "Disabled") or is_na(v),
        "pci.device_id": lambda v: v.lower().startswith("0x"),
    }
    if kind.startswith("memory."):
        return lambda v: bool(_NUMBER.match(v)) or is_na(v)
    return checks.get(kind, lambda v: True)


def _rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    reader = csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True)
    try:
        return [[c.strip() for c in row] for row in reader if row]
    except csv.Error as e:  # a field over csv's 131,072-character limit, a stray NUL, ...
        raise UnrecognisedOutputError(f"the CSV cannot be read ({e})") from None


def _header(row: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """Column keys and units when ``row`` is a header line, else None."""
    keys, units = [], []
    for cell in row:
        m = _HEADER_FIELD.match(cell.strip())
        if m is None:
            return None
        keys.append(_ALIASES.get(m["key"], m["key"]))
        units.append(m["unit"] or "MiB")
    if "name" not in keys and "memory.total" not in keys and "pid" not in keys:
        return None
    return keys, units


def _layout_for(rows: list[list[str]]) -> tuple[str, ...] | None:
    for layout in KNOWN_LAYOUTS:
        checks = [_check(k) for k in layout]
        if all(
            len(r) == len(layout) and all(c(v) for c, v in zip(checks, r, strict=True))
            for r in rows
        ):
            return layout
    return None


def looks_like_csv(text: str) -> bool:
    """True when the first row is a query header or the rows fit a known column order."""
    rows = _rows(text)
    return bool(rows) and (_header(rows[0]) is not None or _layout_for(rows) is not None)


def parse_csv(text: str, source: str = "paste") -> ProbeResult:
    """Parse ``--query-gpu`` CSV; raise ``UnrecognisedOutputError`` for unknown columns."""
    rows = _rows(text)
    if not rows:
        raise UnrecognisedOutputError("the CSV is empty")
    head = _header(rows[0])
    if head is not None:
        keys, units = head
        body = rows[1:]
    else:
        layout = _layout_for(rows)
        if layout is None:
            raise UnrecognisedOutputError(
                "the CSV columns are not a known nvidia-smi query; keep the header line "
                "(`--format=csv` without `noheader`)"
            )
        keys, units, body = list(layout), ["MiB"] * len(layout), rows
    gpus = tuple(_gpu(i, dict(zip(keys, r, strict=False)), dict(zip(keys, units, strict=True)))
                 for i, r in enumerate(body))
    warnings: list[str] = []
    if gpus and all(g.total_bytes is None for g in gpus):
        warnings.append("the CSV has no memory.total column; add it to the query for real memory")
    return ProbeResult(
        source="nvidia-smi" if source == "nvidia-smi" else "paste",
        format="nvidia-smi csv",
        gpus=gpus,
        reason="" if gpus else "the nvidia-smi CSV has a header but no GPU rows",
        warnings=tuple(warnings),
    )


def _gpu(row_no: int, cells: dict[str, str], units: dict[str, str]) -> DetectedGpu:
    def mem(key: str) -> int | None:
        return mem_bytes(cells[key], units.get(key, "MiB")) if key in cells else None

    mig = cells.get("mig.mode.current", "")
    index = to_int(cells.get("index", ""))
    cc = cells.get("compute_cap", "")
    return DetectedGpu(
        index=row_no if index is None else index,
        name=cells.get("name", "unknown GPU"),
        uuid="" if is_na(cells.get("uuid", "")) else cells.get("uuid", ""),
        total_bytes=mem("memory.total"),
        used_bytes=mem("memory.used"),
        free_bytes=mem("memory.free"),
        driver_version=cells.get("driver_version", ""),
        compute_capability="" if is_na(cc) else cc,
        mig_enabled=None if mig not in ("Enabled", "Disabled") else mig == "Enabled",
    )


def parse_compute_apps(text: str) -> dict[str, tuple[GpuProcess, ...]]:
    """``--query-compute-apps=gpu_uuid,pid,process_name,used_gpu_memory`` CSV, by GPU UUID."""
    rows = _rows(text)
    head = _header(rows[0]) if rows else None
    default_keys = [_ALIASES.get(k, k) for k in APPS_FIELDS]
    keys, units = head if head is not None else (default_keys, ["MiB"] * len(APPS_FIELDS))
    body = rows[1:] if head is not None else rows
    out: dict[str, list[GpuProcess]] = {}
    for r in body:
        cells = dict(zip(keys, r, strict=False))
        pid = to_int(cells.get("pid", ""))
        if pid is None:
            continue
        unit = dict(zip(keys, units, strict=True)).get("used_gpu_memory", "MiB")
        proc = GpuProcess(
            pid=pid,
            name=cells.get("process_name", ""),
            kind="C",
            used_bytes=mem_bytes(cells.get("used_gpu_memory", ""), unit),
        )
        out.setdefault(cells.get("uuid", ""), []).append(proc)
    return {k: tuple(v) for k, v in out.items()}
