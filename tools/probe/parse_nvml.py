"""Pure parser for JSON dumps of NVML values, including truncated ones.

Reads a list (or ``{"gpus": [...]}``) of per-device objects as tools built on NVML print them,
e.g. go-nvml's ``{"name": ..., "memoryInfo": {"Total": 24146608128, ...},
"systemGetCudaDriverVersion": 12020, "tGraphicsRunningProcesses": [...]}``. Keys are matched
ignoring case and punctuation. Memory is in bytes (NVML's unit); values too small to be bytes
are read as MiB. A paste cut off mid-object keeps every complete object, plus the index and name
of the last one when they made it into the paste.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import UnrecognisedOutputError
from .models import MIB, DetectedGpu, GpuProcess, ProbeResult
from .values import cuda_from_int

_BYTES_FLOOR = 10_000_000
"""No GPU has under 10 MB of memory: smaller numbers are MiB, not bytes."""


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _get(obj: dict[str, Any], *names: str) -> Any:
    """The first value whose normalised key is one of ``names``."""
    keys = {_norm(k): v for k, v in obj.items()}
    for n in names:
        if n in keys and keys[n] is not None:
            return keys[n]
    return None


def _bytes(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = int(value)
    return v * MIB if v < _BYTES_FLOOR else v


def _cc(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]}.{value[1]}"
    if isinstance(value, dict) and "major" in value:
        return f"{value['major']}.{value.get('minor', 0)}"
    return str(value) if value is not None else ""


def _processes(obj: dict[str, Any]) -> tuple[GpuProcess, ...]:
    procs: list[GpuProcess] = []
    for key, value in obj.items():
        if "processes" not in key.lower() or not isinstance(value, list):
            continue
        kind = "G" if "graphics" in key.lower() else "C"
        for p in value:
            if isinstance(p, dict) and isinstance(pid := _get(p, "pid"), int):
                mem = _bytes(_get(p, "usedgpumemory", "usedmemory", "usedbytes"))
                procs.append(GpuProcess(pid=pid, name=str(_get(p, "name") or ""), kind=kind,
                                        used_bytes=mem))
    return tuple(procs)


def _gpu(n: int, obj: dict[str, Any]) -> DetectedGpu:
    mem = _get(obj, "memoryinfo", "memory", "fbmemoryusage", "meminfo")
    mem = mem if isinstance(mem, dict) else {}
    cuda = _get(obj, "systemgetcudadriverversion", "cudadriverversion", "cudaversion")
    index = _get(obj, "index", "minornumber")
    return DetectedGpu(
        index=index if isinstance(index, int) else n,
        name=str(_get(obj, "name", "productname") or "unknown GPU"),
        uuid=str(_get(obj, "uuid") or ""),
        total_bytes=_bytes(_get(mem, "total") or _get(obj, "memorytotal", "totalmemory")),
        used_bytes=_bytes(_get(mem, "used") or _get(obj, "memoryused", "usedmemory")),
        free_bytes=_bytes(_get(mem, "free") or _get(obj, "memoryfree", "freememory")),
        driver_version=str(_get(obj, "systemgetdriverversion", "driverversion") or ""),
        cuda_version=cuda_from_int(cuda) if isinstance(cuda, int) else str(cuda or ""),
        compute_capability=_cc(_get(obj, "cudacomputecapability", "computecapability")),
        processes=_processes(obj),
    )


def _objects(text: str) -> tuple[list[dict[str, Any]], str]:
    """Complete JSON objects of a (possibly truncated) list, and the unparsed tail."""
    decoder = json.JSONDecoder()
    s = text.strip()
    if s.startswith("{"):
        try:
            data = json.loads(s)
        except json.JSONDecodeError:
            return [], s
        found = data.get("gpus") if isinstance(data, dict) else None
        return (found if isinstance(found, list) else [data]), ""
    pos, out = 1, list[dict[str, Any]]()
    while pos < len(s):
        while pos < len(s) and s[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(s) or s[pos] == "]":
            return out, ""
        try:
            obj, pos = decoder.raw_decode(s, pos)
        except json.JSONDecodeError:
            return out, s[pos:]
        if isinstance(obj, dict):
            out.append(obj)
    return out, ""


def parse_nvml_json(text: str) -> ProbeResult:
    """Parse a JSON list of NVML device records; a truncated last record keeps its name."""
    objects, tail = _objects(text)
    gpus = [_gpu(n, o) for n, o in enumerate(objects) if _get(o, "name", "productname")]
    warnings: list[str] = []
    name = re.search(r'"name"\s*:\s*"([^"]+)"', tail)
    if tail and name:
        idx = re.search(r'"index"\s*:\s*(\d+)', tail)
        gpus.append(DetectedGpu(index=int(idx.group(1)) if idx else len(gpus), name=name.group(1)))
        warnings.append(f"the JSON stops inside GPU {gpus[-1].index}; its memory is missing")
    elif tail:
        warnings.append("the JSON is cut off; GPUs after the last complete record are missing")
    if not gpus and not objects:
        raise UnrecognisedOutputError("the JSON holds no GPU records")
    return ProbeResult(
        source="paste",
        format="nvml json",
        gpus=tuple(gpus),
        reason="" if gpus else "the JSON lists no GPU",
        warnings=tuple(warnings),
    )
