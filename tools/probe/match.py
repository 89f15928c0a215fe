"""Match detected cards to the estimator's GPU catalog (bandwidth, bf16, FlashAttention support).

Names are tried as reported, then cleaned: a MIG suffix ("... MIG 3g.40gb"), a truncation mark
("Tesla V100-SXM2..."), a parenthesis. A name that still does not resolve is matched
*approximately* by dropping trailing words ("RTX 4090 D" -> "RTX 4090") or by the catalog names
it is a prefix of, but only when exactly one candidate's memory agrees with the reported total.
A card with no match keeps its reported memory and works as an unlisted GPU.
"""

from __future__ import annotations

import re
from functools import cache

from tools.estimator.catalog import find_gpu, gpu_key, gpus
from tools.estimator.errors import UnknownGpuError
from tools.estimator.specs import GpuSpec

from .models import GIB, DetectedGpu, MatchKind, ProbeResult

_MIG = re.compile(r"\s+MIG\s+\d+g\.\d+gb\s*$", re.IGNORECASE)
MEMORY_LOW, MEMORY_HIGH = 0.85, 1.05
"""Reported totals sit below the marketed size (ECC, reserved memory): A10 23028 MiB of 24 GB,
T4 15360 MiB of 16 GB. A candidate agrees when reported / nominal lies in this range."""


def _lookup(name: str) -> GpuSpec | None:
    try:
        return find_gpu(name)
    except UnknownGpuError:
        return None


def clean_name(name: str) -> str:
    """Strip what the catalog cannot know: MIG profile, truncation dots, parentheses."""
    s = _MIG.sub("", name.strip())
    s = re.sub(r"\s*\(.*?\)\s*", " ", s)
    return s.rstrip(".").strip()


def _agrees(spec: GpuSpec, total_bytes: int | None) -> bool:
    if total_bytes is None:
        return False
    ratio = total_bytes / (spec.memory_gib * GIB)
    return MEMORY_LOW <= ratio <= MEMORY_HIGH


@cache
def _alias_keys() -> tuple[tuple[GpuSpec, tuple[str, ...]], ...]:
    """Every catalog GPU with the normalised keys of its id, name and aliases (computed once)."""
    return tuple((g, tuple(gpu_key(a) for a in (g.id, g.name, *g.aliases))) for g in gpus())


def _approximate(name: str, total_bytes: int | None) -> GpuSpec | None:
    """A unique catalog GPU whose name starts like ``name`` and whose memory agrees."""
    words = re.split(r"[\s\-]+", name)
    for n in range(len(words), 0, -1):
        key = gpu_key(" ".join(words[:n]))
        if not any(c.isdigit() for c in key):
            break  # "RTX" alone would match any RTX card of the same size
        candidates = {
            g.id: g
            for g, keys in _alias_keys()
            if any(k.startswith(key) for k in keys) and _agrees(g, total_bytes)
        }
        if len(candidates) == 1:
            return next(iter(candidates.values()))
        if candidates:
            return None
    return None


def _sized(name: str, total_bytes: int) -> GpuSpec | None:
    """The catalog variant "<name> <N>GB" whose nominal N agrees with the reported total."""
    for size in sorted({g.memory_gib for g in gpus()}):
        ratio = total_bytes / (size * GIB)
        if MEMORY_LOW <= ratio <= MEMORY_HIGH and (spec := _lookup(f"{name} {size:g}GB")) \
                and spec.memory_gib == size:
            return spec
    return None


def _memory_contradicts(spec: GpuSpec, name: str, total_bytes: int | None) -> bool:
    """The reported total rules this card out ("RTX 3060" with 8 GB is not the 12 GB card).

    Unknown totals and MIG slices prove nothing; a two-die card (MI250/MI250X) reports each die
    as a device with half the memory, which its catalog note states.
    """
    if total_bytes is None or _MIG.search(name) or _agrees(spec, total_bytes):
        return False
    half = total_bytes / (spec.memory_gib * GIB / 2)
    return not ("2 devices" in spec.notes and MEMORY_LOW <= half <= MEMORY_HIGH)


def match_name(name: str, total_bytes: int | None = None) -> tuple[GpuSpec | None, MatchKind]:
    """The catalog GPU for a reported name, and whether the match is exact or approximate.

    A name that stands for several sizes ("RTX 3080": 10 or 12 GB) takes the variant whose memory
    agrees with the reported total; a name whose only entry contradicts the total (a Quadro RTX
    6000 with 24 GB is not the 48 GB RTX 6000 Ada) is not matched.
    """
    for candidate in dict.fromkeys((name, clean_name(name))):
        if spec := _lookup(candidate):
            if not _memory_contradicts(spec, name, total_bytes):
                return spec, "exact"
            assert total_bytes is not None
            sized = _sized(candidate, total_bytes)
            return (sized, "exact") if sized else (None, "none")
    spec = _approximate(clean_name(name), total_bytes)
    return (spec, "approximate") if spec else (None, "none")


def attach_catalog(result: ProbeResult) -> ProbeResult:
    """The same result with ``catalog_id``/``catalog_name``/``catalog_match`` filled per GPU."""
    gpus_out: list[DetectedGpu] = []
    warnings = list(result.warnings)
    for g in result.gpus:
        spec, kind = match_name(g.name, g.total_bytes)
        if spec is None:
            warnings.append(f"GPU {g.index} ({g.name}) is not in the catalog; using its reported memory")
            gpus_out.append(g)
            continue
        if kind == "approximate":
            warnings.append(f"GPU {g.index} ({g.name}) matched approximately to {spec.name}")
        gpus_out.append(
            g.model_copy(update={"catalog_id": spec.id, "catalog_name": spec.name,
                                 "catalog_match": kind})
        )
    return result.model_copy(update={"gpus": tuple(gpus_out), "warnings": tuple(warnings)})


def catalog_spec(catalog_id: str) -> GpuSpec | None:
    """The catalog record for an id set by :func:`attach_catalog`."""
    return next((g for g in gpus() if g.id == catalog_id), None)
