"""Render estimates for people: plain-text tables and Markdown, from one place.

The CLI prints ``estimate_text``/``fit_text``; the assistant, web app and Slack bot use the
Markdown variants. Numbers are GiB (2^30 bytes) and labelled as such.
"""

from __future__ import annotations

from collections.abc import Sequence

from .fit import FitMatrix
from .plan import Plan
from .result import Estimate

TERMS = (
    ("weights", "weights_gib"), ("KV cache", "kv_cache_gib"), ("activations", "activations_gib"),
    ("gradients", "gradients_gib"), ("optimizer states", "optimizer_gib"),
    ("logits (loss)", "logits_gib"), ("step temporaries / load staging", "temporaries_gib"),
    ("CUDA context + allocator", "overhead_gib"),
)


def fmt_gib(value: float) -> str:
    """'12.34 GiB' with two decimals."""
    return f"{value:,.2f} GiB"


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(
            (c.rjust(w) if i and _numeric(c) else c.ljust(w))
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip())
    return out


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "$-~")


def _peak_term(w: dict[str, float]) -> str:
    """The prefill term that sets the peak (mlp, attention or logits)."""
    return max(("mlp", "attention", "logits"), key=lambda k: w[k])


def verdict_line(est: Estimate) -> str:
    """One sentence: fits or not, by how much."""
    where = f"{est.num_gpus}x {est.gpu}" if est.num_gpus > 1 else f"one {est.gpu}"
    if est.workload == "serve" and est.serving:
        s = est.serving
        state = "FITS" if est.fits else "DOES NOT FIT"
        return (f"{state}: {est.model} served on {where}: KV pool {fmt_gib(s.kv_pool_gib)} holds "
                f"{s.max_tokens:,} tokens ({s.max_concurrent_seqs} sequences of "
                f"{est.settings['seq_len']} tokens); longest sequence {s.max_model_len:,} tokens")
    state = "FITS" if est.fits else "DOES NOT FIT"
    rel = "headroom" if est.fits else "short by"
    return (f"{state}: {est.model} {est.workload} on {where} needs {fmt_gib(est.total_gib)} per GPU "
            f"of {fmt_gib(est.capacity_gib)} usable ({rel} {fmt_gib(abs(est.headroom_gib))})")


def estimate_text(est: Estimate) -> str:
    """A readable multi-line report of one estimate."""
    lines = [verdict_line(est), ""]
    rows = [(name, fmt_gib(getattr(est.per_gpu, field))) for name, field in TERMS
            if getattr(est.per_gpu, field) > 0]
    rows += [("peak allocated (torch)", fmt_gib(est.peak_allocated_gib)),
             ("total per GPU (nvidia-smi)", fmt_gib(est.total_gib)),
             ("usable on the GPU", fmt_gib(est.capacity_gib))]
    lines += _table(rows, ("per GPU", "memory"))
    if est.phases:
        lines += ["", f"training step phases (peak set by: {est.peak_phase}; "
                  f"bytes per logit: {est.bytes_per_logit:g})"]
        lines += _table([(name + (" <- peak" if name == est.peak_phase else ""), fmt_gib(v))
                         for name, v in est.phases.items()], ("phase", "allocated"))
    if est.prefill:
        w = est.prefill
        lines += ["", f"prefill working set ({est.prefill_engine}; {int(w['tokens'])} tokens per forward)"]
        lines += _table([(name + (" <- peak term" if name == _peak_term(w) else ""), fmt_gib(w[name]))
                         for name in ("mlp", "attention", "logits", "masks", "peak")
                         if w[name] > 0 or name == "peak"], ("term", "allocated"))
    if est.serving:
        s = est.serving
        lines += ["", "serving pool (vLLM-style)"]
        lines += _table([
            ("budget (utilization x usable)", fmt_gib(s.budget_gib)),
            ("activation profile", fmt_gib(s.activation_profile_gib)),
            ("non-torch (context, NCCL)", fmt_gib(s.non_torch_gib)),
            ("KV cache pool", fmt_gib(s.kv_pool_gib)),
            ("KV bytes per token", f"{s.kv_bytes_per_token:,.0f} B"),
            ("tokens in the pool", f"{s.max_tokens:,}"),
            ("longest sequence", f"{s.max_model_len:,}"),
            ("concurrent sequences", f"{s.max_concurrent_seqs:,}"),
            ("CUDA graphs (outside budget)", fmt_gib(s.cuda_graphs_gib)),
        ], ("pool", "value"))
    lines += ["", f"host RAM needed: {fmt_gib(est.host_ram_gib)}"]
    if est.trainable_params:
        lines.append(f"trainable parameters: {est.trainable_params:,}")
    lines += ["", "assumptions:"] + [f"  - {a}" for a in est.assumptions]
    if est.suggestions:
        lines += ["", "to make it fit:"]
        lines += [f"  - {s.change}: {fmt_gib(s.total_gib)}" + ("" if s.fits else " (still too big)")
                  for s in est.suggestions]
    return "\n".join(lines)


def fit_text(fm: FitMatrix) -> str:
    """The fit matrix as a table with the largest batch and sequence that fit."""
    where = f"{fm.num_gpus}x {fm.gpu}" if fm.num_gpus > 1 else f"one {fm.gpu}"
    lines = [f"{fm.model} on {where} (seq_len {fm.seq_len}, default settings)", ""]
    rows = []
    for r in fm.rows:
        if r.error:
            rows.append((r.workload, "error", "-", "-", "-", r.error))
            continue
        rows.append((
            r.workload, "yes" if r.fits else "no", fmt_gib(r.total_gib), fmt_gib(r.capacity_gib),
            str(r.max_batch) if r.max_batch is not None else "-",
            str(r.max_seq_len) if r.max_seq_len is not None else "-",
        ))
    lines += _table(rows, ("workload", "fits", "per GPU", "usable", "max batch", "max seq"))
    lines += ["", "assumptions:"] + [f"  - {a}" for a in fm.assumptions]
    return "\n".join(lines)


def estimate_markdown(est: Estimate) -> str:
    """Markdown version for chat front ends."""
    lines = [f"**{verdict_line(est)}**", "", "| per GPU | GiB |", "|---|---:|"]
    for name, field in TERMS:
        v = getattr(est.per_gpu, field)
        if v > 0:
            lines.append(f"| {name} | {v:.2f} |")
    lines.append(f"| **total (nvidia-smi)** | **{est.total_gib:.2f}** |")
    if est.phases:
        lines += ["", f"Peak set by the **{est.peak_phase}** phase; {est.bytes_per_logit:g} bytes per logit. "
                  + ", ".join(f"{k} {v:.2f}" for k, v in est.phases.items()) + " GiB"]
    lines.append(f"| usable on {est.gpu} | {est.capacity_gib:.2f} |")
    if est.suggestions:
        lines += ["", "To make it fit:"] + [
            f"- {s.change}: {s.total_gib:.2f} GiB" + ("" if s.fits else " (still too big)")
            for s in est.suggestions
        ]
    lines += ["", "Assumptions: " + "; ".join(est.assumptions)]
    return "\n".join(lines)


def fit_markdown(fm: FitMatrix) -> str:
    """Markdown table of the fit matrix."""
    lines = ["| workload | fits | per GPU (GiB) | usable (GiB) | max batch | max seq |",
             "|---|---|---:|---:|---:|---:|"]
    for r in fm.rows:
        if r.error:
            lines.append(f"| {r.workload} | error: {r.error} | | | | |")
            continue
        lines.append(f"| {r.workload} | {'yes' if r.fits else 'no'} | {r.total_gib:.2f} | "
                     f"{r.capacity_gib:.2f} | {r.max_batch if r.max_batch is not None else '-'} | "
                     f"{r.max_seq_len if r.max_seq_len is not None else '-'} |")
    return "\n".join(lines)


def plan_text(p: Plan, recipes: int = 1) -> str:
    """Ranked options, reasons, what was dropped, and the top option's recipe."""
    lines = [f"Plan: {p.goal} {p.model} (ranked by {p.objective.replace('_', ' ')})", ""]
    if not p.options:
        lines.append("NO PLAN: nothing fits.")
        if p.nearest_miss:
            lines.append(f"nearest miss: {p.nearest_miss}")
        lines += ["what would make it work:"] + [f"  - {a}" for a in p.advice]
    else:
        rows = []
        for i, o in enumerate(p.options, 1):
            sp = o.speed
            rate = sp.train_tokens_per_s or sp.decode_tokens_per_s
            cost = (f"${sp.total_usd:,.0f}" if sp.total_usd is not None else
                    f"${sp.usd_per_hour:.2f}/h" if sp.usd_per_hour is not None else "-")
            rows.append((str(i), o.label, f"{o.total_gib:.1f}/{o.capacity_gib:.1f}",
                         f"{rate:,.0f}" if rate else "-", cost))
        lines += _table(rows, ("#", "option", "GiB per GPU", "tokens/s", "cost"))
        lines += ["", "why:"] + [f"  {i}. {o.why}" for i, o in enumerate(p.options, 1)]
    if p.dropped:
        lines += ["", "dropped:"] + [f"  - {d.count} x {d.reason} (e.g. {d.example})" for d in p.dropped]
    for o in p.options[:recipes]:
        if o.recipe is None:
            continue
        lines += ["", f"recipe for #1 ({o.label}):"]
        for name, text in o.recipe.files.items():
            lines += [f"--- {name}", text.rstrip()]
        lines += ["--- run"] + o.recipe.commands + [f"# {n}" for n in o.recipe.notes]
    if p.options and p.options[0].speed.formulas:
        lines += ["", "formulas (option #1):"] + [f"  {f}" for f in p.options[0].speed.formulas]
    lines += ["", "assumptions:"] + [f"  - {a}" for a in p.assumptions]
    return "\n".join(lines)
