"""The assistant's tools: typed argument schemas, the functions, and the one registry ``TOOLS``.

The LLM agent (``agent.py``) and the offline composer (``offline.py``) call the same tools through
:class:`Toolbox`, which validates arguments, turns estimator errors into a one-line ``Error:``
result the model can act on, and records every result for the verdict and the grounding check.
Each function's docstring is the description the model reads.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.estimator import EstimatorError, estimate, fit_matrix
from tools.estimator.report import estimate_markdown, fit_markdown, plan_text

from . import sizing
from .events import Event, Option, Source, ToolFinished, ToolStarted
from .schemas import EstimateArgs, FitArgs, NoArgs, PasteArgs, PlanArgs, SearchArgs, WhichArgs

log = logging.getLogger("headroom.assistant")


@dataclass
class ToolResult:
    """What a tool returned: text for the model, and structured data for the pipeline."""

    name: str
    args: dict[str, Any]
    text: str
    ok: bool = True
    data: Any = None
    figures: list[float] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


@dataclass
class ToolContext:
    """What tools may use: knowledge-base settings, and the local GPU (None: probing disabled)."""

    kb_settings: Any = None
    local_probe: Callable[[], Any] | None = None
    search: Callable[..., list[Any]] | None = None
    pasted: Any = None  # the last read_gpu_paste result: gpu="pasted" sizes for it


def _gpu_spec(gpu: str, memory_gb: float | None, ctx: ToolContext) -> Any:
    key = gpu.strip().lower()
    if key == "pasted" and memory_gb is None:
        if ctx.pasted is None:
            raise sizing.ToolError("no pasted GPU output yet: call read_gpu_paste first")
        return _capacity(ctx.pasted)
    local = None
    if key == "local" and memory_gb is None and ctx.local_probe is not None:
        local = _capacity(ctx.local_probe())
    return sizing.gpu_spec_for(gpu, memory_gb, local)


def _capacity(result: Any) -> Any:
    from tools.probe import ProbeError, capacity_spec, local_capacity

    try:
        return capacity_spec(local_capacity(result))
    except ProbeError as e:
        raise sizing.ToolError(f"no usable GPU: {e}") from None


def estimate_memory(args: EstimateArgs, ctx: ToolContext) -> ToolResult:
    """Per-GPU memory of one workload: breakdown (weights, KV cache, activations, gradients,
    optimizer, overhead), total vs usable memory, fit verdict, assumptions and, when it does not
    fit, checked suggestions. Use it for a specific configuration (quantization, batch, sequence
    length, ZeRO, tensor parallel) and for number questions (e.g. the KV cache at 8k tokens)."""
    spec = _gpu_spec(args.gpu, args.gpu_memory_gb, ctx)
    fields = args.model_dump(exclude={"gpu_memory_gb"}, exclude_none=True)
    if str(fields.get("quant", "")).startswith("gguf-"):
        # the estimator rejects its own canonical 'gguf-q4_k_m' but accepts the 'q4_k_m' alias
        fields["quant"] = str(fields["quant"]).removeprefix("gguf-")
    fields = sizing.with_layout(fields, spec)
    est = estimate(gpu_spec=spec, **fields)
    nominal = sizing.gpu_memory_gib(est.gpu_id, spec)
    text = estimate_markdown(est)
    if est.serving:
        text += "\n\n" + sizing.serving_line(est)
    if nominal:
        text += f"\n\nGPU: {est.gpu}, {nominal:g} GB nominal, {est.capacity_gib:.2f} GiB usable."
    return ToolResult("estimate_memory", args.model_dump(), text, data=est,
                      figures=sizing.estimate_figures(est, nominal),
                      options=[sizing.estimate_option(est)])


def check_fit(args: FitArgs, ctx: ToolContext) -> ToolResult:
    """Which workloads (full fine-tuning, LoRA, QLoRA, inference, vLLM serving) fit a model on a
    GPU set at default settings, with the largest batch and sequence length that still fit. Use
    it first for 'can I fine-tune/run X on Y?' questions."""
    spec = _gpu_spec(args.gpu, args.gpu_memory_gb, ctx)
    extra: dict[str, Any] = {k: v for k, v in (
        ("quant", str(args.quant).removeprefix("gguf-") if args.quant else None),
        ("engine", args.engine), ("kv_cache_dtype", args.kv_cache_dtype)) if v is not None}
    fm = fit_matrix(args.model, gpu=args.gpu if spec is None else spec.name,
                    num_gpus=args.num_gpus, seq_len=args.seq_len, gpu_spec=spec,
                    workloads=tuple(dict.fromkeys(args.workloads)), **extra)
    nominal = sizing.gpu_memory_gib(args.gpu, spec)
    where = f"{fm.num_gpus}x {fm.gpu}" if fm.num_gpus > 1 else f"one {fm.gpu}"
    lines = [f"{fm.model} on {where} (sequence length {fm.seq_len}, default settings):", "",
             fit_markdown(fm), ""]
    if nominal:
        lines.append(f"GPU: {fm.gpu}, {nominal:g} GB nominal.")
    lines.append("Assumptions: " + "; ".join(fm.assumptions))
    return ToolResult("check_fit", args.model_dump(), "\n".join(lines), data=fm,
                      figures=sizing.fit_figures(fm, nominal),
                      options=sizing.fit_options(fm, list(args.workloads)))


def plan_gpus(args: PlanArgs, ctx: ToolContext) -> ToolResult:
    """Which GPUs (type and count) can run a model for a goal: fine-tune (full, LoRA, QLoRA),
    pre-train, serve or inference, ranked best first by the objective, each checked by the
    estimator; when nothing fits, the nearest miss and what would make it work. Use it for
    'which GPU do I need?' and 'how many H100s for X?' questions."""
    from tools.estimator.plan import plan

    p = plan(args.model, goal=args.goal, gpus=args.gpus, max_gpus=args.max_gpus,
             objective=args.objective, users=args.users, seq_len=args.seq_len,
             methods=args.methods, quant=args.quant)
    kept = p.options
    others = [] if kept or not (args.methods or args.quant) else plan(
        args.model, goal=args.goal, gpus=args.gpus, max_gpus=args.max_gpus,
        objective=args.objective, users=args.users, seq_len=args.seq_len).options[:3]
    text = plan_text(p, recipes=0)
    if others and not kept:
        text += "\n\nOther options that fit:\n" + "\n".join(
            f"- {o.label}: {o.total_gib:.2f} of {o.capacity_gib:.2f} GiB per GPU" for o in others)
    options: dict[str, Option] = {}
    for o in p.options:
        options.setdefault(o.method, Option(
            workload=o.method, fits=True, total_gib=o.total_gib, capacity_gib=o.capacity_gib,
            model=p.model, gpu=o.gpu, num_gpus=o.num_gpus))
    figures = [v for o in [*kept, *others] for v in (o.total_gib, o.capacity_gib, o.headroom_gib)]
    return ToolResult("plan_gpus", args.model_dump(), text, data=(p, others),
                      figures=figures + sizing.memory_figures(text), options=list(options.values()))


def models_for_gpu(args: WhichArgs, ctx: ToolContext) -> ToolResult:
    """Which catalog models run on a GPU set, per weight format (16-bit, 8-bit, 4-bit GGUF): the
    largest that fit, with their per-GPU memory. Use it for 'what can I run on my 3070?' when no
    model is named."""
    from tools.estimator import find_gpu
    from tools.estimator.which import models_that_fit

    spec = _gpu_spec(args.gpu, args.gpu_memory_gb, ctx)
    found = models_that_fit(args.gpu if spec is None else spec.name, num_gpus=args.num_gpus,
                            workload=args.workload, seq_len=args.seq_len, gpu_spec=spec,
                            top=args.top)
    gpu_name = spec.name if spec is not None else find_gpu(args.gpu).name
    lines = [f"On {args.num_gpus}x {gpu_name}:"]
    for label, fits in found.items():
        lines.append(f"{label}: " + (", ".join(
            f"{f.model} {f.total_gib:.2f} of {f.capacity_gib:.2f} GiB" for f in fits) or "none"))
    figures = [v for fits in found.values() for f in fits for v in (f.total_gib, f.capacity_gib)]
    return ToolResult("models_for_gpu", {**args.model_dump(), "gpu_name": gpu_name},
                      "\n".join(lines), data=found,
                      figures=figures)


def search_guide(args: SearchArgs, ctx: ToolContext) -> ToolResult:
    """Search Headroom's GPU-memory guide (English and Chinese) for explanations to cite: ZeRO,
    FSDP, LoRA, QLoRA, quantization, KV cache, vLLM, FlashAttention, gradient checkpointing,
    parallelism, nvidia-smi and OOM errors. Returns sections with their citation links."""
    try:
        if ctx.search is not None:
            passages = ctx.search(args.query, args.k, lang=args.lang)
        else:
            from knowledge import search

            passages = search(args.query, args.k, lang=args.lang, settings=ctx.kb_settings)
    except Exception as e:  # the guide is optional: any failure means "no citations"
        raise sizing.ToolError(f"the guide is unavailable ({type(e).__name__}: {e})") from None
    if not passages:
        return ToolResult("search_guide", args.model_dump(), "No guide section matches.")
    blocks = [f"[{i}] {p.citation()}\n{p.excerpt}" for i, p in enumerate(passages, 1)]
    sources = [Source(title=f"{p.title} § {p.section}", path=p.source, section=p.section)
               for p in passages]
    figures = [f for p in passages for f in sizing.memory_figures(p.text)]
    return ToolResult("search_guide", args.model_dump(), "\n\n".join(blocks), data=passages,
                      figures=figures, sources=sources)


def read_gpu_paste(args: PasteArgs, ctx: ToolContext) -> ToolResult:
    """Read GPUs from output the user pasted (nvidia-smi table, --query-gpu csv, -L, rocm-smi
    --json): names, total and free memory, and the matching catalog GPU to size for."""
    from tools.probe import ProbeError, parse_paste

    try:
        result = parse_paste(args.text)
    except ProbeError as e:
        raise sizing.ToolError(str(e)) from None
    text = result.as_text()
    if result.ok:
        ctx.pasted = result
        text += ('\nTo size for these GPUs call check_fit or estimate_memory with gpu="pasted" '
                 "(uses their free memory) and num_gpus.")
    return ToolResult("read_gpu_paste", {"text": args.text[:200]}, text, data=result,
                      figures=sizing.memory_figures(text))


def probe_local_gpus(args: NoArgs, ctx: ToolContext) -> ToolResult:
    """List the GPUs of the machine the assistant runs on (NVML, nvidia-smi or rocm-smi) with
    their free memory. Only meaningful when the user runs Headroom on their own GPU machine."""
    if ctx.local_probe is None:
        raise sizing.ToolError("probing is disabled here (the assistant does not run on the "
                               "user's machine); ask which GPU they have")
    result = ctx.local_probe()
    return ToolResult("probe_local_gpus", {}, result.as_text(), data=result,
                      figures=sizing.memory_figures(result.as_text()))


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: name, argument schema and function."""

    name: str
    args: type[BaseModel]
    func: Callable[[Any, ToolContext], ToolResult]

    @property
    def description(self) -> str:
        return inspect.getdoc(self.func) or self.name


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("check_fit", FitArgs, check_fit),
    ToolSpec("estimate_memory", EstimateArgs, estimate_memory),
    ToolSpec("plan_gpus", PlanArgs, plan_gpus),
    ToolSpec("models_for_gpu", WhichArgs, models_for_gpu),
    ToolSpec("search_guide", SearchArgs, search_guide),
    ToolSpec("read_gpu_paste", PasteArgs, read_gpu_paste),
    ToolSpec("probe_local_gpus", NoArgs, probe_local_gpus),
)
TOOL_NAMES = frozenset(t.name for t in TOOLS)


class Toolbox:
    """Runs tools by name for one turn and keeps their results in call order."""

    def __init__(self, ctx: ToolContext | None = None) -> None:
        self.ctx = ctx or ToolContext()
        self.results: list[ToolResult] = []
        self._specs = {t.name: t for t in TOOLS}
        self._events: list[Event] = []

    def events(self) -> list[Event]:
        """Tool events since the last call (for front ends showing progress)."""
        out, self._events = self._events, []
        return out

    def validate(self, name: str, args: dict[str, Any]) -> BaseModel:
        """The parsed arguments; raises KeyError (unknown tool) or ValidationError."""
        return self._specs[name].args.model_validate(args)

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        """Run a tool; errors the user or model can fix come back as an ``Error:`` result."""
        call_id = f"{name}-{len(self.results) + 1}"
        self._events.append(ToolStarted(name, dict(args), call_id))
        try:
            parsed = self.validate(name, args)
            result = self._specs[name].func(parsed, self.ctx)
        except KeyError:
            result = ToolResult(name, args, f"Error: unknown tool {name!r}; use one of "
                                f"{', '.join(sorted(self._specs))}", ok=False)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "arguments"
            result = ToolResult(name, args, f"Error: invalid {where}: {err['msg']}", ok=False)
        except EstimatorError as e:
            result = ToolResult(name, args, f"Error: {e}", ok=False)
        except Exception as e:  # a bug in a tool must not take the answer down with it
            log.exception("tool %s failed", name)
            result = ToolResult(name, args, f"Error: the {name} tool failed "
                                f"({type(e).__name__}: {e})", ok=False)
        self.results.append(result)
        self._events.append(ToolFinished(name, result.text, result.ok, call_id))
        return result
