"""What ``headroom estimate --gpu local`` plans on: one card type, how many, how much is free.

The first GPU and every GPU identical to it (same name and total) form the group; free memory is
the smallest free figure among them (tensor parallelism needs it on every card), i.e. total
minus what other processes already hold. With MIG enabled a process sees one instance, so the
largest instance is used. :func:`capacity_spec` turns the capacity into the estimator's
``GpuSpec``: the catalog record (bandwidth, bf16, FlashAttention) with the real free memory as
``usable_gib``, or a record built from the reported figures for a card the catalog lacks.
"""

from __future__ import annotations

import re

from tools.estimator.specs import GpuSpec

from .errors import NoLocalGpuError
from .match import catalog_spec
from .models import GIB, MIB, DetectedGpu, LocalCapacity, ProbeResult

_NOTABLE_USE = 256 * MIB
"""Memory in use below this is the desktop or an idle context; above it is worth a note."""


def _mig_capacity(gpu: DetectedGpu, notes: list[str]) -> tuple[int, int, int] | None:
    sized = [m for m in gpu.mig_devices if m.total_bytes is not None]
    if not sized:
        notes.append(f"GPU {gpu.index}: MIG is enabled but its instances are not listed; "
                     "the whole GPU's memory is an upper bound")
        return None
    best = max(sized, key=lambda m: m.free_bytes or 0)
    total, used = best.total_bytes or 0, best.used_bytes or 0
    notes.append(f"GPU {gpu.index}: MIG is enabled; a process sees one instance, sized for the "
                 f"largest free one ({best.name or 'GI ' + str(best.gpu_instance)}, "
                 f"{total // MIB} MiB)")
    return total, used, best.free_bytes if best.free_bytes is not None else total - used


def local_capacity(result: ProbeResult) -> LocalCapacity:
    """Capacity of the first GPU (and its identical siblings) in a probe or paste result."""
    if not result.ok:
        raise NoLocalGpuError(result.reason)
    first = result.gpus[0]
    group = [g for g in result.gpus if g.name == first.name and g.total_bytes == first.total_bytes]
    notes: list[str] = []
    if len(group) < len(result.gpus):
        others = ", ".join(str(g.index) for g in result.gpus if g not in group)
        notes.append(f"GPU(s) {others} differ from GPU {first.index} and are not counted")
    spec = catalog_spec(first.catalog_id) if first.catalog_id else None
    mig = _mig_capacity(first, notes) if first.mig_enabled else None
    if mig is not None:
        (total, used, free), group = mig, [first]
    elif first.total_bytes is not None:
        total = first.total_bytes
        used = max(g.used_bytes or 0 for g in group)
        free = min(g.free_bytes if g.free_bytes is not None else total - used for g in group)
        if spec is not None and first.catalog_match == "exact" and not first.mig_enabled:
            capped = max(spec.usable_bytes - used, 0)
            if capped < free:
                notes.append(f"free memory capped at the catalog's usable {spec.usable_gib} GiB "
                             "(memory the driver reserves is not allocatable)")
                free = capped
    elif spec is not None:
        total, used, free = spec.usable_bytes, 0, spec.usable_bytes
        notes.append(f"GPU {first.index}: no memory figures; using the catalog's usable "
                     f"{spec.usable_gib} GiB (memory held by other processes is unknown)")
    else:
        raise NoLocalGpuError(f"GPU {first.index} ({first.name}) reports no memory and is not in "
                              "the catalog")
    if used >= _NOTABLE_USE:
        notes.append(f"{used / GIB:.2f} GiB per GPU is already in use by other processes")
    return LocalCapacity(
        name=first.name, vendor=first.vendor, compute_capability=first.compute_capability,
        count=len(group), total_bytes=total, used_bytes=used, free_bytes=max(free, 0),
        catalog_id=first.catalog_id, catalog_match=first.catalog_match, source=result.source,
        notes=tuple(notes),
    )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "gpu"


def capacity_spec(cap: LocalCapacity) -> GpuSpec:
    """The estimator's GPU record for ``cap``: catalog data with the real free memory."""
    if cap.free_bytes <= 0:
        raise NoLocalGpuError(f"{cap.name} has no free memory ({cap.used_bytes // MIB} MiB of "
                              f"{cap.total_bytes // MIB} MiB are in use by other processes)")
    usable_gib = cap.free_bytes / GIB
    basis = f"probed: free memory on the local GPU ({cap.source})"
    spec = catalog_spec(cap.catalog_id) if cap.catalog_id else None
    if spec is not None:
        return spec.model_copy(update={"usable_gib": usable_gib, "usable_basis": basis})
    cc = cap.compute_capability
    modern = bool(re.match(r"^\d+", cc)) and int(cc.split(".")[0]) >= 8
    return GpuSpec(
        id=f"local-{_slug(cap.name)}",
        name=cap.name,
        vendor="AMD" if cap.vendor == "amd" else "NVIDIA",
        compute_capability=cc,
        memory_gib=max(cap.total_bytes, cap.free_bytes) / GIB,
        usable_gib=usable_gib,
        usable_basis=basis,
        supports_bf16=modern or cap.vendor == "amd",
        flash_attention2=modern,
        notes="not in the catalog: bandwidth and throughput unknown; "
        "bf16/FlashAttention-2 inferred from the compute capability (sm80+)",
    )
