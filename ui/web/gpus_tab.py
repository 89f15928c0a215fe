"""The "My GPUs" tab: the server machine's GPUs (the probe) and a box to paste ``nvidia-smi``.

``probe_markdown`` renders a :class:`~tools.probe.ProbeResult` as a Markdown table; every figure
comes from the probe (bytes shown as GiB). ``build`` lays out the tab (Gradio imported there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import error_markdown
from .i18n import text
from .localize import Localizer

if TYPE_CHECKING:
    from tools.probe import ProbeResult

GIB = 1024**3
PASTE_PLACEHOLDER = ("Paste the output of `nvidia-smi`, `nvidia-smi --query-gpu=name,memory.total,"
                     "memory.used --format=csv`, `nvidia-smi -L` or `rocm-smi --json` here")


def _gib(value: int | None) -> str:
    return "?" if value is None else f"{value / GIB:.2f}"


def probe_markdown(result: ProbeResult, title: str) -> str:
    """The probe's GPUs as a Markdown table, with its source, MIG slices and notes."""
    if not result.ok:
        return f"### {title}\n\nNo GPU found: {result.reason}"
    first = result.gpus[0]
    head = [f"source: {result.format or result.source}"]
    if first.driver_version:
        head.append(f"driver {first.driver_version}")
    if first.cuda_version:
        head.append(f"CUDA {first.cuda_version}")
    lines = [f"### {title}", "", " · ".join(head), "",
             "| GPU | name | total (GiB) | used (GiB) | free (GiB) | catalog |",
             "|---:|---|---:|---:|---:|---|"]
    for g in result.gpus:
        cat = g.catalog_name or g.catalog_id or "-"
        if g.catalog_match == "approximate":
            cat += " (approx.)"
        lines.append(f"| {g.index} | {g.name} | {_gib(g.total_bytes)} | {_gib(g.used_bytes)} | "
                     f"{_gib(g.free_bytes)} | {cat} |")
    for g in result.gpus:
        for m in g.mig_devices:
            label = m.name or f"GI {m.gpu_instance} CI {m.compute_instance}"
            lines.append(f"- GPU {g.index} MIG {m.index}: {label}, {_gib(m.used_bytes)} GiB used "
                         f"of {_gib(m.total_bytes)} GiB")
    lines += [f"- note: {w}" for w in result.warnings]
    return "\n".join(lines)


def server_gpus(probe: Callable[[], ProbeResult] | None = None) -> str:
    """The server machine's GPUs (NVML, nvidia-smi, rocm-smi), never an exception."""
    try:
        if probe is None:
            from tools.probe import probe_local

            return probe_markdown(probe_local(), "This server")
        return probe_markdown(probe(), "This server")
    except Exception as e:  # noqa: BLE001 - shown in the page
        return error_markdown(e)


def pasted_gpus(text: str) -> str:
    """The GPUs in a pasted tool output, or a readable message."""
    if not (text or "").strip():
        return "Paste the output of `nvidia-smi` (or one of the formats named in the box) first."
    try:
        from tools.probe import parse_paste

        return probe_markdown(parse_paste(text), "Pasted output")
    except Exception as e:  # noqa: BLE001 - shown in the page
        return error_markdown(e)


def build(probe: Callable[[], ProbeResult] | None = None,
          loc: Localizer | None = None) -> tuple[Any, Callable[[], str]]:
    """Lay out the tab inside the current Blocks.

    Returns the server-probe Markdown and its function, for the page's load event (the probe
    runs when a page opens, not when the app is built).
    """
    import gradio as gr

    loc = loc or Localizer()
    loc.add(gr.Markdown(text("en", "gpus_intro")), value="gpus_intro")
    server = gr.Markdown(text("en", "probing"), elem_id="server-gpus")
    refresh = loc.add(gr.Button(text("en", "probe_again"), size="sm"), value="probe_again")
    paste = loc.add(gr.Textbox(label=text("en", "smi_label"), lines=8,
                               placeholder=PASTE_PLACEHOLDER, elem_id="smi-paste"),
                    label="smi_label", placeholder="smi_placeholder")
    read = loc.add(gr.Button(text("en", "read_paste"), variant="primary"), value="read_paste")
    pasted = gr.Markdown(elem_id="pasted-gpus")

    def probe_server() -> str:
        return server_gpus(probe)

    refresh.click(probe_server, None, server, api_name="probe_server")
    read.click(pasted_gpus, paste, pasted, api_name="parse_paste")
    paste.submit(pasted_gpus, paste, pasted, api_visibility="undocumented")
    return server, probe_server
