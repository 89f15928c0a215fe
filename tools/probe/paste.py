"""Recognise what a user pasted and hand it to the right pure parser.

Tried in this order: JSON (rocm-smi, ``headroom probe --json``, NVML dumps), the ``nvidia-smi``
table, rocm-smi CSV, ``nvidia-smi -L``, then ``nvidia-smi --query-gpu`` CSV. Markdown code fences
and Windows line endings are dropped first. Text that is none of these raises
``UnrecognisedOutputError`` with the list of accepted formats.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from .errors import UnrecognisedOutputError
from .models import ProbeResult
from .parse_nvml import parse_nvml_json
from .parse_rocm import looks_like_rocm, parse_rocm_csv, parse_rocm_json
from .parse_smi import looks_like_list, looks_like_table, parse_list, parse_table
from .parse_smi_csv import looks_like_csv, parse_csv


def clean_paste(text: str) -> str:
    """Normalise line endings, drop a BOM and markdown code-fence lines."""
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(ln for ln in text.split("\n") if not ln.strip().startswith("```"))


def _own_json(text: str) -> ProbeResult | None:
    """A ``headroom probe --json`` document read back, or None when it is another JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not (isinstance(data, dict) and "gpus" in data and "source" in data):
        return None
    try:
        result = ProbeResult.model_validate(data)
    except ValidationError as e:
        raise UnrecognisedOutputError(f"the headroom JSON is invalid ({e.error_count()} errors)") from e
    fmt = f"headroom json ({result.format or result.source})"
    return result.model_copy(update={"source": "paste", "format": fmt})


def parse_any(text: str) -> ProbeResult:
    """Detect the format of ``text`` and parse it (no catalog matching)."""
    clean = clean_paste(text)
    body = clean.strip()
    if not body:
        raise UnrecognisedOutputError("the paste is empty")
    if looks_like_rocm(body):
        return parse_rocm_json(body) if '"card' in body else parse_rocm_csv(body)
    if body.startswith(("{", "[")):
        own = _own_json(body)
        return own if own is not None else parse_nvml_json(body)
    if looks_like_table(clean):
        return parse_table(clean)
    if looks_like_list(clean):
        return parse_list(clean)
    for line in body.split("\n"):
        if "No devices were found" in line or "NVIDIA-SMI has failed" in line:
            return ProbeResult(source="paste", format="nvidia-smi",
                               reason=f"nvidia-smi reports: {line.strip()}")
    if looks_like_csv(body):
        return parse_csv(body)
    raise UnrecognisedOutputError("found no nvidia-smi table, CSV, JSON or rocm-smi output")
