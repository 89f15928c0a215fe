"""Small pure helpers shared by the parsers: "N/A" values, integers and memory sizes with units."""

from __future__ import annotations

import re

_NA = re.compile(
    r"^\[?\s*(n/?a|not supported|unknown error|insufficient permissions|gpu is lost|"
    r"requested functionality has been deprecated|-)\s*\]?$",
    re.IGNORECASE,
)
_SIZE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]i?B|B|bytes)?$", re.IGNORECASE)
_UNIT_BYTES = {
    "b": 1, "bytes": 1,
    "kib": 1024, "kb": 1024,
    "mib": 1024**2, "mb": 1024**2,
    "gib": 1024**3, "gb": 1024**3,
    "tib": 1024**4, "tb": 1024**4,
}
"""nvidia-smi writes "MiB"; older builds and humans write "MB" for the same 1024-based unit."""


def is_na(value: str) -> bool:
    """True for the placeholders nvidia-smi and rocm-smi print instead of a value."""
    return not value.strip() or bool(_NA.match(value.strip()))


def to_int(value: str) -> int | None:
    """A decimal or hex ("0x1f") integer, or None for N/A and anything else."""
    v = value.strip()
    if is_na(v):
        return None
    try:
        return int(v, 16) if v.lower().startswith("0x") else int(v)
    except ValueError:
        return None


def mem_bytes(value: str, default_unit: str = "MiB") -> int | None:
    """Bytes from "81559", "81559 MiB", "21458059264" (with ``default_unit="B"``); None for N/A."""
    m = _SIZE.match(value.strip())
    if m is None:
        return None
    unit = (m.group("unit") or default_unit).lower()
    return int(float(m.group("num")) * _UNIT_BYTES[unit])


def cuda_from_int(version: int) -> str:
    """NVML's CUDA driver version integer to text: 12020 -> "12.2" (major=v//1000, minor=v%1000//10)."""
    return f"{version // 1000}.{version % 1000 // 10}"
