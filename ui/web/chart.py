"""The estimator's per-GPU breakdown as a stacked bar against the GPU's usable-memory line.

Rendered server-side with matplotlib's object API (no pyplot state, safe across threads) and
shown by ``gr.Plot`` as a PNG: it renders the same in every browser and needs no JavaScript
charting library. Every number drawn comes from the :class:`~tools.estimator.Estimate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.estimator.report import TERMS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tools.estimator import Estimate

# colour-blind-safe palette (Okabe-Ito), one colour per term in TERMS order
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")
CAPACITY_COLOR = "#D55E00"


def segments(est: Estimate) -> list[tuple[str, float, str]]:
    """The non-zero terms of the breakdown (name, GiB, colour), in the order the report lists them."""
    return [(name, float(getattr(est.per_gpu, field)), color)
            for (name, field), color in zip(TERMS, COLORS, strict=True)
            if getattr(est.per_gpu, field) > 0]


def chart_title(est: Estimate) -> str:
    """'FITS: 10.56 of 22.10 GiB usable per GPU' (or DOES NOT FIT)."""
    state = "FITS" if est.fits else "DOES NOT FIT"
    return f"{state}: {est.total_gib:.2f} of {est.capacity_gib:.2f} GiB usable per GPU"


def breakdown_figure(est: Estimate) -> Figure:
    """A horizontal stacked bar of the per-GPU terms with the usable-memory line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.3), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    left = 0.0
    for name, value, color in segments(est):
        ax.barh([0], [value], left=left, color=color, height=0.55,
                label=f"{name} {value:.2f}")
        left += value
    cap = float(est.capacity_gib)
    ax.axvline(cap, color=CAPACITY_COLOR, linestyle="--", linewidth=2,
               label=f"usable {cap:.2f}")
    where = f"{est.num_gpus}x {est.gpu}" if est.num_gpus > 1 else est.gpu
    ax.set_yticks([0], [f"{est.workload}\nper GPU"])
    ax.set_xlim(0, max(left, cap) * 1.08 or 1.0)
    ax.set_xlabel(f"GiB per GPU · {est.model} on {where}", fontsize=10)
    ax.set_title(chart_title(est), fontsize=12, fontweight="bold",
                 color="#1a7f37" if est.fits else "#b42318", loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()  # the line comes first: put it last
    fig.legend(handles[1:] + handles[:1], labels[1:] + labels[:1], loc="outside lower center",
               ncols=2, fontsize=10, frameon=False)
    return fig
