"""``headroom probe``: show this machine's GPUs, or read a pasted nvidia-smi / rocm-smi output.

    headroom probe                         # NVML, then nvidia-smi, then rocm-smi
    headroom probe --json                  # the ProbeResult as JSON
    headroom probe --from-file smi.txt     # parse a paste; "-" reads stdin

Registered in the main group by ``ui/cli.py``. Imports of the probe happen inside the command so
that ``headroom --help`` stays fast. ``local_gpu_spec`` serves ``headroom estimate --gpu local``.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tools.estimator.specs import GpuSpec
    from tools.probe import DetectedGpu, LocalCapacity, ProbeResult

GIB = 1024**3
MAX_PROCESSES = 5


def _gib(value: int | None) -> str:
    return "?" if value is None else f"{value / GIB:.2f} GiB"


def render_table(result: ProbeResult) -> str:
    """The result as an aligned plain-text table with its notes below."""
    if not result.ok:
        return f"No GPU found: {result.reason}"
    first = result.gpus[0]
    pasted = " (pasted)" if result.source == "paste" else ""
    head = [f"Source: {result.format or result.source}{pasted}"]
    if first.driver_version:
        head.append(f"driver {first.driver_version}")
    if first.cuda_version:
        head.append(f"CUDA {first.cuda_version}")
    rows = [("GPU", "Name", "Total", "Used", "Free", "Catalog")]
    for g in result.gpus:
        cat = g.catalog_id or "-"
        if g.catalog_match == "approximate":
            cat += " (approx.)"
        rows.append((str(g.index), g.name, _gib(g.total_bytes), _gib(g.used_bytes),
                     _gib(g.free_bytes), cat))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" · ".join(head)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for g in result.gpus:
        lines += _details(g)
    lines += [f"note: {w}" for w in result.warnings]
    return "\n".join(lines)


def _details(g: DetectedGpu) -> list[str]:
    """MIG instances and processes of one GPU, indented under the table."""
    out = []
    for m in g.mig_devices:
        label = m.name or f"GI {m.gpu_instance} CI {m.compute_instance}"
        out.append(f"  GPU {g.index} MIG {m.index}: {label}, {_gib(m.used_bytes)} used of "
                   f"{_gib(m.total_bytes)}")
    for p in g.processes[:MAX_PROCESSES]:
        out.append(f"  GPU {g.index} pid {p.pid} {p.name or '?'}: {_gib(p.used_bytes)}")
    if len(g.processes) > MAX_PROCESSES:
        out.append(f"  GPU {g.index}: {len(g.processes) - MAX_PROCESSES} more processes")
    return out


def _read(from_file: IO[str] | None) -> ProbeResult:
    from tools.probe import ProbeError, parse_paste, probe_local

    if from_file is None:
        return probe_local()
    try:
        return parse_paste(from_file.read())
    except ProbeError as e:
        raise click.ClickException(str(e)) from e
    except UnicodeDecodeError as e:
        raise click.ClickException(f"cannot read {from_file.name}: not text ({e.reason})") from e


@click.command("probe")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--from-file",
    "from_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Parse saved nvidia-smi / rocm-smi output instead of probing ('-' reads stdin).",
)
def probe(as_json: bool, from_file: IO[str] | None) -> None:
    """Show the GPUs of this machine (or of a pasted nvidia-smi output) and their free memory.

    Example: nvidia-smi | headroom probe --from-file -
    """
    result = _read(from_file)
    click.echo(result.model_dump_json(indent=2) if as_json else render_table(result))


def local_gpu_spec(from_file: IO[str] | None = None) -> tuple[GpuSpec, LocalCapacity]:
    """For ``headroom estimate --gpu local``: the GPU record with the real free memory.

    Raises ``click.ClickException`` with one line when there is no usable local GPU.
    """
    from tools.probe import ProbeError, capacity_spec, local_capacity

    try:
        cap = local_capacity(_read(from_file))
        return capacity_spec(cap), cap
    except ProbeError as e:
        raise click.ClickException(str(e)) from e
