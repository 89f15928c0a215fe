"""Typed errors of the probe. Finding no GPU is *not* an error (see ``ProbeResult.reason``).

These are for input the user can fix: a paste that is not GPU-tool output, or a request for the
local GPU's capacity on a machine that has none. Each builds a one-line message in ``__str__``.
"""

from __future__ import annotations


class ProbeError(ValueError):
    """Base class of the probe's user-facing errors."""


class UnrecognisedOutputError(ProbeError):
    """Pasted text that is none of the formats the probe reads."""

    FORMATS = (
        "the `nvidia-smi` table, `nvidia-smi --query-gpu=... --format=csv` (with or without "
        "header/units), `nvidia-smi -L`, `rocm-smi --showproductname --showmeminfo vram --json` "
        "or `--csv`, an NVML JSON dump, or `headroom probe --json`"
    )

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"cannot read the GPU output: {self.detail}. Paste one of: {self.FORMATS}"


class NoLocalGpuError(ProbeError):
    """``--gpu local`` on a machine (or a paste) with no usable GPU."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"no local GPU to size for: {self.reason}. "
            "Name a GPU instead (e.g. --gpu H100) or paste `nvidia-smi` output"
        )
