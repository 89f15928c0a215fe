"""Typed, frozen results of the GPU probe: what was found, where from, and why not.

Memory is always an ``int`` in bytes (``None`` when the source did not report it). A probe that
finds no GPU is a normal :class:`ProbeResult` with ``ok == False`` and a ``reason``; it is never an
exception. :class:`LocalCapacity` is what ``headroom estimate --gpu local`` needs: one card type,
how many of them, and the memory that is really free on them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

MIB = 1024**2
GIB = 1024**3

Source = Literal["nvml", "nvidia-smi", "rocm-smi", "paste", "none"]
Vendor = Literal["nvidia", "amd"]
MatchKind = Literal["exact", "approximate", "none"]

_FROZEN = ConfigDict(frozen=True, extra="ignore")


def _fill_free(data: Any) -> Any:
    """Derive ``free_bytes = total - used`` when a source reports only total and used."""
    if isinstance(data, dict) and data.get("free_bytes") is None:
        total, used = data.get("total_bytes"), data.get("used_bytes")
        if isinstance(total, int) and isinstance(used, int):
            return {**data, "free_bytes": max(total - used, 0)}
    return data


class GpuProcess(BaseModel):
    """A process holding memory on a GPU (as NVML or nvidia-smi lists it)."""

    model_config = _FROZEN

    pid: int
    name: str = ""
    kind: str = ""
    """C (compute), G (graphics), C+G, M (MPS) when the source says; empty otherwise."""
    used_bytes: int | None = Field(default=None, ge=0)


class MigDevice(BaseModel):
    """One MIG instance of a GPU in MIG mode: a process sees only this slice of memory."""

    model_config = _FROZEN

    gpu_instance: int | None = None
    compute_instance: int | None = None
    index: int | None = None
    name: str = ""
    """NVML name ("NVIDIA A100-SXM4-80GB MIG 3g.40gb") or the profile ("3g.40gb")."""
    uuid: str = ""
    total_bytes: int | None = Field(default=None, ge=0)
    used_bytes: int | None = Field(default=None, ge=0)
    free_bytes: int | None = Field(default=None, ge=0)

    _fill = model_validator(mode="before")(_fill_free)


class DetectedGpu(BaseModel):
    """One physical GPU as reported by NVML, nvidia-smi, rocm-smi or a paste of their output."""

    model_config = _FROZEN

    index: int = Field(ge=0)
    name: str
    vendor: Vendor = "nvidia"
    uuid: str = ""
    total_bytes: int | None = Field(default=None, ge=0)
    used_bytes: int | None = Field(default=None, ge=0)
    """Memory in use: by other processes and the driver (what nvidia-smi shows as used)."""
    free_bytes: int | None = Field(default=None, ge=0)
    driver_version: str = ""
    cuda_version: str = ""
    compute_capability: str = ""
    """NVIDIA "8.0", "9.0", ...; empty when the source does not say."""
    arch: str = ""
    """AMD gfx target ("gfx1100") when known."""
    mig_enabled: bool | None = None
    mig_devices: tuple[MigDevice, ...] = ()
    processes: tuple[GpuProcess, ...] = ()
    catalog_id: str | None = None
    catalog_name: str | None = None
    catalog_match: MatchKind = "none"
    """"exact": the name resolved; "approximate": a near name with agreeing memory size."""

    _fill = model_validator(mode="before")(_fill_free)


class ProbeResult(BaseModel):
    """The GPUs a probe or a paste revealed, or the reason there are none."""

    model_config = _FROZEN

    source: Source
    format: str = ""
    """What was read: "nvml", "nvidia-smi csv", "nvidia-smi table", "rocm-smi json", ..."""
    gpus: tuple[DetectedGpu, ...] = ()
    reason: str = ""
    """Why no GPU was found (no driver, library not found, no device); empty when ok."""
    warnings: tuple[str, ...] = ()
    """Things the user should know: a truncated paste, skipped integrated GPUs, missing memory."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when at least one GPU was found."""
        return bool(self.gpus)

    @model_validator(mode="after")
    def _reason_when_empty(self) -> ProbeResult:
        if not self.gpus and not self.reason:
            raise ValueError("a ProbeResult without GPUs needs a reason")
        return self

    def as_text(self) -> str:
        """A compact plain-text summary (for the agent and for logs)."""
        if not self.ok:
            return f"No GPU found: {self.reason}"
        lines = [f"{len(self.gpus)} GPU(s) from {self.format or self.source}:"]
        for g in self.gpus:
            mem = "memory not reported"
            if g.total_bytes is not None:
                mem = f"{g.total_bytes / GIB:.2f} GiB total"
                if g.free_bytes is not None:
                    mem += f", {g.free_bytes / GIB:.2f} GiB free"
            cat = f"; catalog {g.catalog_id} ({g.catalog_match})" if g.catalog_id else ""
            mig = f"; MIG enabled ({len(g.mig_devices)} instances)" if g.mig_enabled else ""
            lines.append(f"- GPU {g.index}: {g.name}, {mem}{cat}{mig}")
        lines += [f"note: {w}" for w in self.warnings]
        return "\n".join(lines)


class LocalCapacity(BaseModel):
    """What the estimator can plan on: ``count`` identical cards with ``free_bytes`` each free."""

    model_config = _FROZEN

    name: str
    vendor: Vendor = "nvidia"
    compute_capability: str = ""
    count: int = Field(ge=1)
    total_bytes: int = Field(ge=0)
    free_bytes: int = Field(ge=0)
    """Free on the fullest of the ``count`` cards: total minus what other processes hold."""
    used_bytes: int = Field(ge=0)
    catalog_id: str | None = None
    catalog_match: MatchKind = "none"
    source: Source
    notes: tuple[str, ...] = ()
