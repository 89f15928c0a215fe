"""What the Estimator tab shows for one form submission (no Gradio here).

``run_estimate`` turns form values into the estimate (summary Markdown and chart) and the fit
matrix; ``run_plan`` into the planner's ranked options and their copyable recipes. Each number
is read from the estimator's result objects and only formatted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tools.estimator import estimate, find_gpu, fit_matrix
from tools.estimator.report import estimate_markdown

from .chart import breakdown_figure
from .errors import WebInputError
from .form import encode_query, to_request

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tools.estimator import Estimate, FitMatrix
    from tools.estimator.plan import Plan, PlanOption

FIT_HEADERS = ["workload", "fits", "per GPU (GiB)", "usable (GiB)", "max batch", "max seq"]
PLAN_HEADERS = ["#", "option", "GiB per GPU / usable", "tokens/s", "cost", "why"]
GOALS = ("auto", "fine-tune", "pre-train", "serve", "inference")
OBJECTIVES = ("fewest_gpus", "cheapest", "fastest", "quality", "smallest_gpu")
_GOAL_OF = {"full": "fine-tune", "lora": "fine-tune", "qlora": "fine-tune", "serve": "serve",
            "inference": "inference"}


@dataclass
class EstimateView:
    """The estimate part of the tab."""

    summary: str
    figure: Figure
    fit_rows: list[list[Any]]
    fit_note: str
    query: str
    estimate: Estimate


@dataclass
class PlanView:
    """The planner part of the tab: ranked rows, notes, and one recipe text per option."""

    rows: list[list[Any]]
    notes: str
    recipes: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def serving_markdown(est: Estimate) -> str:
    """The vLLM-style pool of a serving estimate as a small table."""
    s = est.serving
    if s is None:
        return ""
    rows = [("budget (utilization x usable)", f"{s.budget_gib:.2f} GiB"),
            ("KV cache pool", f"{s.kv_pool_gib:.2f} GiB"),
            ("tokens in the pool", f"{s.max_tokens:,}"),
            ("longest sequence", f"{s.max_model_len:,}"),
            ("concurrent sequences", f"{s.max_concurrent_seqs:,}")]
    return "\n".join(["| serving pool | value |", "|---|---:|"] +
                     [f"| {k} | {v} |" for k, v in rows])


def fit_rows(fm: FitMatrix) -> list[list[Any]]:
    """The fit matrix as table rows."""
    out: list[list[Any]] = []
    for r in fm.rows:
        if r.error:
            out.append([r.workload, f"error: {r.error}", "", "", "", ""])
            continue
        out.append([r.workload, "yes" if r.fits else "no", f"{r.total_gib:.2f}",
                    f"{r.capacity_gib:.2f}", "-" if r.max_batch is None else str(r.max_batch),
                    "-" if r.max_seq_len is None else str(r.max_seq_len)])
    return out


def run_estimate(values: Mapping[str, Any]) -> EstimateView:
    """Estimate the form's request; raises EstimatorError / WebInputError with one line."""
    request = to_request(values)
    est = estimate(**request)
    summary = estimate_markdown(est)
    if est.serving:
        summary += "\n\n" + serving_markdown(est)
    fm = fit_matrix(str(request["model"]), gpu=str(request["gpu"]),
                    num_gpus=int(request["num_gpus"]), seq_len=request["seq_len"])
    where = f"{fm.num_gpus}x {fm.gpu}" if fm.num_gpus > 1 else f"one {fm.gpu}"
    note = (f"Every workload of {fm.model} on {where} at default settings "
            f"(sequence {fm.seq_len}); max batch / max seq are the largest that fit.")
    return EstimateView(summary=summary, figure=breakdown_figure(est), fit_rows=fit_rows(fm),
                        fit_note=note, query=encode_query(values), estimate=est)


def goal_for(workload: str, goal: str) -> str:
    """The planner goal: as chosen, or derived from the workload when "auto"."""
    if goal != "auto":
        if goal not in GOALS:
            raise WebInputError(f"goal: {goal!r} is not one of {', '.join(GOALS)}")
        return goal
    return _GOAL_OF.get(workload, "fine-tune")


def recipe_text(o: PlanOption) -> str:
    """One option's files and commands as one copyable text."""
    if o.recipe is None:
        return "# no recipe for this option"
    lines: list[str] = []
    for name, text in o.recipe.files.items():
        lines += [f"# ---- {name} ----", text.rstrip(), ""]
    lines += ["# ---- run ----", *o.recipe.commands]
    lines += [f"# {n}" for n in o.recipe.notes]
    return "\n".join(lines)


def _plan_row(i: int, o: PlanOption) -> list[Any]:
    sp = o.speed
    rate = sp.train_tokens_per_s or sp.decode_tokens_per_s
    cost = (f"${sp.total_usd:,.0f}" if sp.total_usd is not None else
            f"${sp.usd_per_hour:.2f}/h" if sp.usd_per_hour is not None else "-")
    return [i, o.label, f"{o.total_gib:.1f} / {o.capacity_gib:.1f}",
            f"{rate:,.0f}" if rate else "-", cost, o.why]


def plan_view(p: Plan) -> PlanView:
    """Table rows, notes (dropped, nearest miss, advice) and the recipes of a plan."""
    notes: list[str] = [f"**{p.goal} {p.model}**, ranked by {p.objective.replace('_', ' ')}."]
    if not p.options:
        notes.append("**No plan fits.**")
        if p.nearest_miss:
            notes.append(f"Nearest miss: {p.nearest_miss}")
        notes += [f"- {a}" for a in p.advice]
    if p.dropped:
        notes.append("Dropped: " + "; ".join(f"{d.count} x {d.reason}" for d in p.dropped))
    if p.options and p.options[0].speed.formulas:
        notes.append("Formulas (#1): " + "; ".join(p.options[0].speed.formulas))
    return PlanView(rows=[_plan_row(i, o) for i, o in enumerate(p.options, 1)],
                    notes="\n\n".join(notes), recipes=[recipe_text(o) for o in p.options],
                    labels=[f"{i}. {o.label}" for i, o in enumerate(p.options, 1)])


def run_plan(values: Mapping[str, Any], goal: str = "auto",
             objective: str = "fewest_gpus") -> PlanView:
    """Plan for the form's model: the chosen GPU first, then the planner's common cards."""
    from tools.estimator.plan import DEFAULT_GPUS, plan

    request = to_request(values)
    chosen = str(request["gpu"])
    try:
        chosen_id = find_gpu(chosen).id
        gpus = [chosen] + [g for g in DEFAULT_GPUS if find_gpu(g).id != chosen_id]
    except ValueError:
        gpus = list(DEFAULT_GPUS)
    if objective not in OBJECTIVES:
        raise WebInputError(f"objective: {objective!r} is not one of {', '.join(OBJECTIVES)}")
    g = goal_for(str(request["workload"]), goal)
    batch = int(request["batch_size"])
    p = plan(str(request["model"]), goal=g, gpus=gpus, objective=objective,  # type: ignore[arg-type]
             seq_len=request["seq_len"], batch_size=batch, users=batch, top=5)
    return plan_view(p)
