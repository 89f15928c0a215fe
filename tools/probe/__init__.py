"""The GPU probe: what GPUs this machine (or a user's paste) has, and how much memory is free.

A thin I/O layer (``live.py``: NVML, then ``nvidia-smi``, then ``rocm-smi``) over pure parsers
(``parse_smi.py``, ``parse_smi_csv.py``, ``parse_rocm.py``, ``parse_nvml.py``, chosen by
``paste.py``), plus matching to the estimator's GPU catalog (``match.py``) and the capacity
``headroom estimate --gpu local`` plans on (``capacity.py``). Finding no GPU is a normal result
with a reason; only unreadable pastes and ``--gpu local`` without a GPU raise a ``ProbeError``.

    >>> from tools.probe import parse_paste
    >>> parse_paste("NVIDIA H100 80GB HBM3, 81559, 72790").gpus[0].catalog_id
    'h100-sxm5'

Run with: ``headroom probe`` (``--json``, ``--from-file nvidia-smi.txt``, ``--from-file -``).
"""

from __future__ import annotations

from typing import Any

from . import live
from .capacity import capacity_spec
from .capacity import local_capacity as _capacity_of
from .errors import NoLocalGpuError, ProbeError, UnrecognisedOutputError
from .match import attach_catalog, match_name
from .models import DetectedGpu, GpuProcess, LocalCapacity, MigDevice, ProbeResult
from .paste import parse_any

__all__ = [
    "DetectedGpu", "GpuProcess", "LocalCapacity", "MigDevice", "NoLocalGpuError", "ProbeError",
    "ProbeResult", "UnrecognisedOutputError", "capacity_spec", "local_capacity", "match_name",
    "parse_paste", "probe_gpus", "probe_local",
]


def probe_local(nvml: Any = None, timeout_s: float = live.TIMEOUT_S) -> ProbeResult:
    """Probe this machine (NVML, nvidia-smi, rocm-smi) and match each GPU to the catalog.

    ``nvml`` replaces the ``pynvml`` module (tests pass a fake). Never raises for a missing
    GPU, driver or library: the result then has ``ok == False`` and a ``reason``.
    """
    return attach_catalog(live.probe_local(nvml=nvml, timeout_s=timeout_s))


MAX_PASTE_CHARS = 1_000_000


def parse_paste(text: str) -> ProbeResult:
    """Parse pasted GPU-tool output (format auto-detected) and match it to the catalog.

    Raises ``UnrecognisedOutputError`` when the text is no format the probe reads or is larger
    than ``MAX_PASTE_CHARS`` (an nvidia-smi table of 8 GPUs is about 5,000 characters).
    """
    if len(text) > MAX_PASTE_CHARS:
        raise UnrecognisedOutputError(
            f"the paste is {len(text):,} characters, over the {MAX_PASTE_CHARS:,} limit")
    return attach_catalog(parse_any(text))


def local_capacity(result: ProbeResult | None = None) -> LocalCapacity:
    """Capacity of the first GPU and its identical siblings: catalog match and free bytes.

    ``result`` defaults to :func:`probe_local`; pass a :func:`parse_paste` result to size a
    pasted machine. Raises ``NoLocalGpuError`` (with the probe's reason) when there is no GPU.
    Turn it into the estimator's record with :func:`capacity_spec`.
    """
    return _capacity_of(result if result is not None else probe_local())


def probe_gpus(pasted_output: str = "") -> str:
    """List GPUs with their total and free memory, from pasted tool output or this machine.

    Args:
        pasted_output: Text the user pasted from `nvidia-smi`, `nvidia-smi --query-gpu=...
            --format=csv`, `nvidia-smi -L` or `rocm-smi --json`. Leave empty to probe the
            machine the assistant itself runs on.
    """
    try:
        result = parse_paste(pasted_output) if pasted_output.strip() else probe_local()
    except ProbeError as e:
        return f"Error: {e}"
    return result.as_text()
