"""The Estimator tab: the request form, the breakdown chart, the fit matrix and the planner.

The form is built from :func:`ui.web.form.form_fields` (every ``EstimateRequest`` field with its
default and description), with searchable model and GPU pickers that also accept free text
(a size such as ``13B``, a Hugging Face id, a GPU alias). Each run writes the non-default fields
into the page URL (``?tab=estimator&model=...``) and into a copyable share link.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

import gradio as gr

from tools.estimator import gpus, models

from .errors import WebInputError, error_markdown
from .estimator_view import FIT_HEADERS, GOALS, OBJECTIVES, PLAN_HEADERS, run_estimate, run_plan
from .form import PRIMARY, FieldSpec, decode_query, defaults, field_names, form_fields
from .i18n import text
from .localize import Localizer

# Runs in the browser after each estimate: make the share box an absolute link and put the
# query into the address bar without reloading, so the URL itself is shareable.
URL_JS = """(q) => {
  if (!q) { return q; }
  const url = new URL(q, window.location.href);
  window.history.replaceState(null, "", url.pathname + url.search);
  return url.href;
}"""
ADVANCED_COLUMNS = 3


def model_choices() -> list[tuple[str, str]]:
    """(label, value) of every catalog model: 'Llama 2 13B · 13.0B' -> 'llama-2-13b'."""
    return [(f"{m.name} · {m.params_b:g}B", m.id) for m in models()]


def gpu_choices() -> list[tuple[str, str]]:
    """(label, value) of every catalog GPU: 'NVIDIA A10 · 24 GB' -> 'a10'."""
    return [(f"{g.name} · {g.memory_gib:g} GB", g.id) for g in gpus()]


def _component(spec: FieldSpec, loc: Localizer) -> Any:
    """The form component of one field, registered with its texts in both languages."""
    comp = _plain_component(spec)
    if spec.name in ("model", "gpu"):
        return loc.add(comp, label=f"{spec.name}_label", info=f"{spec.name}_hint")
    return loc.add_field(comp, spec.name, (comp.label, comp.info))


def _plain_component(spec: FieldSpec) -> Any:
    info = spec.info or None
    if spec.name == "model":
        return gr.Dropdown(model_choices(), value=spec.default, label=text("en", "model_label"),
                           filterable=True, allow_custom_value=True, elem_id="est-model",
                           info=text("en", "model_hint"))
    if spec.name == "gpu":
        return gr.Dropdown(gpu_choices(), value=spec.default, label=text("en", "gpu_label"),
                           filterable=True, allow_custom_value=True, elem_id="est-gpu",
                           info=text("en", "gpu_hint"))
    elem = f"est-{spec.name.replace('_', '-')}"
    if spec.kind in ("choice", "tristate"):
        return gr.Dropdown(list(spec.choices), value=spec.default, label=spec.label, info=info,
                           elem_id=elem)
    if spec.kind == "bool":
        return gr.Checkbox(value=spec.default, label=spec.label, info=info, elem_id=elem)
    if spec.kind in ("int", "float"):
        if spec.optional:
            info = f"{info} (0 or empty: the default)"
        return gr.Number(value=spec.default, label=spec.label, info=info, elem_id=elem,
                         precision=0 if spec.kind == "int" else None,
                         placeholder="empty or 0: default" if spec.optional else None)
    return gr.Textbox(value=spec.default, label=spec.label, info=info, elem_id=elem)


@dataclass
class EstimatorTab:
    """The tab's form, what a page load fills from the URL, and the steps it then runs."""

    inputs: list[Any]
    link_note: Any
    estimate_step: dict[str, Any]
    plan_step: dict[str, Any]

    @property
    def outputs(self) -> list[Any]:
        """The components :meth:`from_params` fills."""
        return [*self.inputs, self.link_note]

    @staticmethod
    def from_params(params: Mapping[str, str]) -> list[Any]:
        """Form values from a shared link (defaults for the rest), and what was wrong in it."""
        if not set(params) & set(field_names()):
            return [gr.skip() for _ in field_names()] + [gr.skip()]
        values, problems = decode_query(params)
        note = "" if not problems else error_markdown(WebInputError(
            "ignored in the link: " + "; ".join(problems)))
        return [*(values[n] for n in field_names()), note]

    def run_after(self, event: Any) -> Any:
        """Chain the estimate and the plan after another event (the page load)."""
        return event.then(**self.estimate_step).then(**self.plan_step)


def _values(args: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(field_names(), args, strict=True))


def _named(fn: Callable[..., Any], leading: dict[str, Any] | None = None) -> Callable[..., Any]:
    """``fn(*args)`` with a signature naming each form field (default: the form's), so that the
    API and ``gradio_client`` take keywords: ``predict(model="13B", gpu="a10", api_name=...)``."""
    start = {**(leading or {}), **defaults()}
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v)
              for n, v in start.items()]
    signature = inspect.Signature(params)

    @wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return fn(*bound.args)

    call.__signature__ = signature  # type: ignore[attr-defined]
    return call


def _estimate(*args: Any) -> tuple[Any, ...]:
    try:
        view = run_estimate(_values(args))
    except Exception as e:  # noqa: BLE001 - shown in the page
        return error_markdown(e), "", None, "", [], ""
    return "", view.summary, view.figure, view.fit_note, view.fit_rows, "?" + view.query


def _plan(goal: str, objective: str, *args: Any) -> tuple[Any, ...]:
    try:
        view = run_plan(_values(args), goal, objective)
    except Exception as e:  # noqa: BLE001 - shown in the page
        return [], error_markdown(e), gr.Dropdown(choices=[], value=None), "", []
    first = view.labels[0] if view.labels else None
    return (view.rows, view.notes, gr.Dropdown(choices=view.labels, value=first),
            view.recipes[0] if view.recipes else "", view.recipes)


def _pick_recipe(label: str | None, recipes: list[str]) -> str:
    """The recipe of the option labelled '2. LoRA ...'; empty for anything else."""
    number = (label or "").split(".", 1)[0]
    index = int(number) - 1 if number.isdigit() else -1
    return recipes[index] if 0 <= index < len(recipes) else ""


def build(loc: Localizer | None = None) -> EstimatorTab:
    """Lay out the tab inside the current Blocks and wire its events."""
    loc = loc or Localizer()
    specs = {s.name: s for s in form_fields()}
    comps: dict[str, Any] = {}
    with gr.Row():
        for name in ("model", "workload", "gpu"):
            comps[name] = _component(specs[name], loc)
    with gr.Row():
        for name in PRIMARY[3:]:
            comps[name] = _component(specs[name], loc)
    with loc.add(gr.Accordion(text("en", "more_settings"), open=False), label="more_settings"):
        rest = [s for s in form_fields() if s.name not in PRIMARY]
        for start in range(0, len(rest), ADVANCED_COLUMNS):
            with gr.Row():
                for spec in rest[start:start + ADVANCED_COLUMNS]:
                    comps[spec.name] = _component(spec, loc)
    with gr.Row(equal_height=True):
        run = loc.add(gr.Button(text("en", "run"), variant="primary", elem_id="est-run",
                                scale=1), value="run")
        share = loc.add(gr.Textbox(label=text("en", "share"), buttons=["copy"],
                                   interactive=False, scale=3, elem_id="est-share"),
                        label="share")
    error = gr.Markdown(elem_id="est-error")
    link_note = gr.Markdown(elem_id="est-link-note")
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            chart = gr.Plot(label="Per-GPU memory vs usable memory", show_label=False,
                            format="png", elem_id="est-chart")
        with gr.Column(scale=2, min_width=300):
            summary = gr.Markdown(elem_id="est-summary")
    loc.add(gr.Markdown(text("en", "fit_matrix")), value="fit_matrix")
    fit_note = gr.Markdown()
    fit_table = gr.Dataframe(headers=FIT_HEADERS, value=[], interactive=False, wrap=True,
                             elem_id="est-fit")
    loc.add_list(fit_table, "headers", "fit_headers")
    loc.add(gr.Markdown(text("en", "planner")), value="planner")
    with gr.Row():
        goal = loc.add(gr.Dropdown(list(GOALS), value="auto", label=text("en", "goal")),
                       label="goal")
        objective = loc.add(gr.Dropdown(list(OBJECTIVES), value="fewest_gpus",
                                        label=text("en", "rank_by")), label="rank_by")
    plan_table = gr.Dataframe(headers=PLAN_HEADERS, value=[], interactive=False, wrap=True,
                              elem_id="est-plan")
    loc.add_list(plan_table, "headers", "plan_headers")
    plan_notes = gr.Markdown()
    recipe_pick = loc.add(gr.Dropdown([], label=text("en", "recipe_for"),
                                      elem_id="est-recipe-pick"), label="recipe_for")
    recipe = gr.Code(label=text("en", "recipe"), language="shell",
                     buttons=["copy", "download"], interactive=False, elem_id="est-recipe")
    loc.add(recipe, label="recipe")
    recipes = gr.State([])

    inputs = [comps[n] for n in field_names()]
    estimate_step: dict[str, Any] = dict(
        fn=_named(_estimate), inputs=inputs, outputs=[error, summary, chart, fit_note, fit_table, share],
        api_name="estimate")
    plan_step: dict[str, Any] = dict(
        fn=_named(_plan, {"goal": "auto", "objective": "fewest_gpus"}), inputs=[goal, objective, *inputs],
        outputs=[plan_table, plan_notes, recipe_pick, recipe, recipes], api_name="plan")
    url_step: dict[str, Any] = dict(fn=None, inputs=share, outputs=share, js=URL_JS,
                                    api_visibility="undocumented")
    triggers = [run.click] + [comps[n].input for n in ("model", "workload", "gpu", "quant")]
    gr.on(triggers, **estimate_step, trigger_mode="always_last").then(
        **{**plan_step, "api_name": None, "api_visibility": "undocumented"}).then(**url_step)
    gr.on([goal.input, objective.input], **plan_step)
    recipe_pick.input(_pick_recipe, [recipe_pick, recipes], recipe, api_visibility="undocumented")
    load_estimate = {**estimate_step, "api_name": None, "api_visibility": "undocumented"}
    load_plan = {**plan_step, "api_name": None, "api_visibility": "undocumented"}
    return EstimatorTab(inputs=inputs, link_note=link_note, estimate_step=load_estimate,
                        plan_step=load_plan)
