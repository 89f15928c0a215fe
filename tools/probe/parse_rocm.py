"""Pure parsers for AMD ``rocm-smi --showproductname --showmeminfo vram`` with ``--json`` or ``--csv``.

Both formats carry the same columns: ``VRAM Total Memory (B)`` and ``VRAM Total Used Memory (B)``
in bytes (as strings in JSON), ``Card Series`` (``Card series`` in older ROCm), ``GFX Version``,
keyed by ``cardN``. Integrated GPUs (APUs such as Raphael with a 64 MiB carve-out) appear as extra
cards; they are skipped with a warning so the first GPU is the discrete one.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping

from .errors import UnrecognisedOutputError
from .models import GIB, MIB, DetectedGpu, ProbeResult, Source
from .values import is_na, mem_bytes

TOTAL_KEY = "vram total memory (b)"
USED_KEY = "vram total used memory (b)"
_NAME_KEYS = ("card series", "device name", "marketing name", "card model")
APU_GFX = frozenset({"gfx90c", "gfx1033", "gfx1035", "gfx1036", "gfx1037", "gfx1103",
                     "gfx1150", "gfx1152"})
"""gfx targets of integrated GPUs (Renoir/Cezanne, Van Gogh, Rembrandt, Raphael, Mendocino,
Phoenix, Strix Point, Krackan). Strix Halo (gfx1151) is kept: its large carve-out runs LLMs."""
MIN_DISCRETE_BYTES = 2 * GIB
"""Below this "VRAM" is a carve-out of system memory, not a card's own memory."""


def looks_like_rocm(text: str) -> bool:
    """True when the text carries rocm-smi's VRAM columns."""
    return "VRAM Total Memory" in text


def _lower(record: Mapping[str | None, object]) -> dict[str, str]:
    """Keys lower-cased ("Card series" and "Card Series" are one key), values as stripped text."""
    return {
        str(k).strip().lower(): str(v).strip()
        for k, v in record.items()
        if k is not None and v is not None
    }


def _name(card: str, rec: Mapping[str, str]) -> str:
    for key in _NAME_KEYS:
        value = rec.get(key, "")
        if value and not is_na(value) and not value.lower().startswith("0x"):
            return value
    return f"AMD GPU {card}"


def _card_index(card: str, fallback: int) -> int:
    m = re.search(r"(\d+)$", card)
    return int(m.group(1)) if m else fallback


def _is_integrated(gpu: DetectedGpu) -> bool:
    small = gpu.total_bytes is not None and gpu.total_bytes < MIN_DISCRETE_BYTES
    return small or gpu.arch in APU_GFX


def _result(
    cards: list[tuple[str, dict[str, str]]], fmt: str, source: Source
) -> ProbeResult:
    gpus: list[DetectedGpu] = []
    warnings: list[str] = []
    for n, (card, rec) in enumerate(cards):
        total = mem_bytes(rec.get(TOTAL_KEY, ""), "B")
        gfx = rec.get("gfx version", "")
        gpu = DetectedGpu(
            index=_card_index(card, n),
            name=_name(card, rec),
            vendor="amd",
            uuid="" if is_na(rec.get("unique id", "")) else rec.get("unique id", ""),
            total_bytes=total,
            used_bytes=mem_bytes(rec.get(USED_KEY, ""), "B"),
            arch="" if is_na(gfx) else gfx,
        )
        if _is_integrated(gpu):
            size = f"{(gpu.total_bytes or 0) // MIB} MiB"
            warnings.append(f"skipped integrated GPU {card} ({gpu.name}, {size})")
            continue
        gpus.append(gpu)
    reason = ""
    if not gpus:
        reason = "only integrated GPUs found" if cards else "rocm-smi lists no GPU"
    return ProbeResult(
        source=source, format=fmt, gpus=tuple(gpus), reason=reason, warnings=tuple(warnings)
    )


def parse_rocm_json(text: str, source: Source = "paste") -> ProbeResult:
    """Parse ``rocm-smi ... --json``; warning lines printed before the JSON are ignored."""
    start = text.find("{")
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError as e:
        raise UnrecognisedOutputError(f"the rocm-smi JSON is invalid ({e.msg})") from e
    if not isinstance(data, dict):
        raise UnrecognisedOutputError("the rocm-smi JSON is not an object keyed by card")
    cards = [
        (str(k), _lower(v))
        for k, v in data.items()
        if isinstance(v, dict) and str(k).lower().startswith("card")
    ]
    return _result(cards, "rocm-smi json", source)


def parse_rocm_csv(text: str, source: Source = "paste") -> ProbeResult:
    """Parse ``rocm-smi ... --csv`` (first column ``device`` = cardN)."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, ln in enumerate(lines) if "VRAM Total Memory" in ln), None)
    if start is None:
        raise UnrecognisedOutputError("the rocm-smi CSV has no 'VRAM Total Memory (B)' column")
    reader = csv.DictReader(io.StringIO("\n".join(ln for ln in lines[start:] if ln.strip())))
    try:
        cards = [(row.get("device") or f"card{n}", _lower(row)) for n, row in enumerate(reader)]
    except csv.Error as e:  # a field over csv's 131,072-character limit, a stray NUL, ...
        raise UnrecognisedOutputError(f"the rocm-smi CSV cannot be read ({e})") from None
    return _result(cards, "rocm-smi csv", source)
