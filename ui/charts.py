"""What every front end draws for a sizing answer: stacked memory terms against usable memory.

:func:`from_answer` reads an :class:`~assistant.events.Answer` (one bar per option it weighed,
each split into the estimator's per-GPU terms), :func:`from_estimate` one
:class:`~tools.estimator.Estimate`. The web app draws the result as HTML (``ui.web.chart_html``),
the Slack bot as a PNG (``ui.web.chart.bars_figure``) and the CLI as a terminal bar
(``ui.cli_bar``). Nothing here computes memory: every number is copied from those objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.strings import LABELS, TERMS

if TYPE_CHECKING:
    from assistant.events import Answer, Option
    from tools.estimator import Estimate

COLORS = {"weights_gib": "#0072B2", "kv_cache_gib": "#E69F00", "activations_gib": "#009E73",
          "gradients_gib": "#CC79A7", "optimizer_gib": "#56B4E9", "overhead_gib": "#999999",
          "total": "#0072B2"}
"""Okabe-Ito (colour-blind safe), mid-tone: readable on light and dark backgrounds."""
CAPACITY_COLOR = "#D55E00"
AXIS_CAP = 2.0
"""The axis ends at most at this multiple of usable memory; longer bars are drawn cut."""
_WORDS = {
    "en": {"total": "total", "title": "Memory per GPU vs usable (GiB)", "usable": "usable",
           "fits": "fits", "nofit": "does not fit", "on": "on"},
    "zh": {"total": "合计", "title": "每卡显存与可用显存 (GiB)", "usable": "可用",
           "fits": "放得下", "nofit": "放不下", "on": "在"},
}


def word(lang: str, key: str) -> str:
    """A chart word in ``lang`` (English when the language is not translated)."""
    return _WORDS.get(lang, _WORDS["en"])[key]


def term_label(key: str, lang: str) -> str:
    """'weights_gib' -> 'weights' / '权重'; 'total' -> 'total' / '合计'."""
    if key == "total":
        return word(lang, "total")
    return dict((f, name) for name, f in TERMS.get(lang, TERMS["en"]))[key]


def workload_label(workload: str, lang: str) -> str:
    """'qlora' -> 'QLoRA', 'full' -> 'full fine-tuning' / '全参微调'."""
    return LABELS.get(lang, LABELS["en"]).get(workload, workload)


@dataclass(frozen=True)
class Segment:
    """One memory term of a bar."""

    key: str
    """A ``PerGpu`` field name (``weights_gib``...) or ``total`` when only the total is known."""
    gib: float


@dataclass(frozen=True)
class Bar:
    """One workload: its terms per GPU, the total and the GPU's usable memory."""

    workload: str
    segments: tuple[Segment, ...]
    total_gib: float
    capacity_gib: float
    fits: bool

    def label(self, lang: str) -> str:
        return workload_label(self.workload, lang)


@dataclass(frozen=True)
class ChartData:
    """The bars of one answer, and where they were sized (model on GPUs)."""

    bars: tuple[Bar, ...]
    model: str
    where: str
    lang: str = "en"

    @property
    def axis_gib(self) -> float:
        """Where the axis ends: past every bar and the usable line, but at most AXIS_CAP x usable."""
        cap = max(b.capacity_gib for b in self.bars)
        longest = max(max(b.total_gib for b in self.bars), cap)
        return max(min(longest, cap * AXIS_CAP), 1e-9) * 1.04

    def keys(self) -> list[str]:
        """The terms drawn, in the report's order (for the legend)."""
        order = [f for _, f in TERMS["en"]] + ["total"]
        used = {s.key for b in self.bars for s in b.segments}
        return [k for k in order if k in used]

    def caption(self) -> str:
        """'13B (synthetic Llama-style) on one NVIDIA A10'."""
        return f"{self.model} {word(self.lang, 'on')} {self.where}".strip()


def _segments(terms: dict[str, float], total: float) -> tuple[Segment, ...]:
    order = [f for _, f in TERMS["en"]]
    parts = tuple(Segment(k, float(terms[k])) for k in order if float(terms.get(k, 0.0)) > 0)
    # a breakdown that does not add up to the total (e.g. a planner option) is drawn as the total
    if not parts or abs(sum(s.gib for s in parts) - total) > max(0.02 * total, 0.05):
        return (Segment("total", total),)
    return parts


def _where(gpu: str, num_gpus: int, lang: str) -> str:
    if lang == "zh":
        return f"{num_gpus} 张 {gpu}"
    return f"{num_gpus}x {gpu}" if num_gpus > 1 else f"one {gpu}"


def _bar(o: Option) -> Bar:
    return Bar(o.workload, _segments(o.terms, o.total_gib), o.total_gib, o.capacity_gib, o.fits)


def from_answer(answer: Answer) -> ChartData | None:
    """The chart of a sizing answer; None when it weighed no option (explanations, questions)."""
    options = [o for o in answer.options if o.capacity_gib > 0]
    if not options:
        return None
    lang = answer.lang if answer.lang in _WORDS else "en"
    first = options[0]
    same = all((o.model, o.gpu, o.num_gpus) == (first.model, first.gpu, first.num_gpus)
               for o in options)
    where = _where(first.gpu, first.num_gpus, lang) if same and first.gpu else ""
    return ChartData(tuple(_bar(o) for o in options), first.model if same else "", where, lang)


def from_estimate(est: Estimate, lang: str = "en") -> ChartData:
    """The chart of one estimate (the Estimator tab, ``headroom estimate``)."""
    terms = est.per_gpu.model_dump()
    bar = Bar(est.workload, _segments(terms, est.total_gib), est.total_gib, est.capacity_gib,
              est.fits)
    return ChartData((bar,), est.model, _where(est.gpu, est.num_gpus, lang), lang)
