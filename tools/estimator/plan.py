"""The planner: enumerate strategies, keep those that fit with a margin, rank by the objective.

Strategies are method x precision/quantization x sharding x offload x GPU count x GPU type,
each checked by ``estimate`` (so every number comes from the same formulas), timed and priced by
``perf.speed``. The answer lists the ranked options with their reasons, what was dropped and
why, and, when nothing fits, the nearest miss and what would make it work.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .catalog import find_gpu
from .errors import EstimatorError, InvalidRequestError
from .estimate import compute, make_request
from .perf import Speed, prices, speed
from .recipes import Recipe, gguf_recipe, serving_recipe, training_recipe
from .resolve import resolve, resolve_model
from .result import Estimate

Goal = Literal["fine-tune", "pre-train", "serve", "inference"]
Objective = Literal["fewest_gpus", "cheapest", "fastest", "quality", "smallest_gpu"]
# GPUs people buy for a desktop (the planner's set for "what GPU should I get?"), smallest first;
# memory and bandwidth from gpus.toml.
DESKTOP_GPUS = ("RTX 3060 12GB", "RTX 4060 Ti 16GB", "RTX 4070 Ti Super", "RTX 3090", "RTX 4090",
                "RTX 5090")
DEFAULT_GPUS = ("H100", "H200", "A100 80GB", "A100 40GB", "L40S", "RTX A6000", "A10", "L4",
                "RTX 4090", "T4")
GPU_COUNTS = (1, 2, 4, 8, 16, 32, 64)
QUALITY = {"full": 3, "lora": 2, "qlora": 1, "none": 3, "fp8": 2, "int8": 2, "gptq-8": 2,
           "awq-4": 1, "gptq-4": 1, "nf4": 1}


class PlanOption(BaseModel):
    """One strategy that fits, with its numbers."""

    model_config = ConfigDict(frozen=True)

    label: str
    method: str
    gpu: str
    gpu_id: str
    num_gpus: int
    request: dict[str, Any]
    total_gib: float
    capacity_gib: float
    headroom_gib: float
    quality: int
    speed: Speed
    why: str
    seq_len: int
    max_concurrent_seqs: int | None = None
    recipe: Recipe | None = None


class Dropped(BaseModel):
    """A group of strategies left out, with one example."""

    model_config = ConfigDict(frozen=True)

    reason: str
    count: int
    example: str


class Plan(BaseModel):
    """Ranked options (best first), what was dropped, and advice when nothing fits."""

    model_config = ConfigDict(frozen=True)

    model: str
    model_id: str
    goal: str
    objective: str
    options: list[PlanOption]
    dropped: list[Dropped]
    nearest_miss: str | None = None
    advice: list[str] = []
    assumptions: list[str] = []


def _training_variants(goal: str, n: int) -> list[tuple[str, dict[str, Any]]]:
    methods = ["full"] if goal == "pre-train" else ["full", "lora", "qlora"]
    out: list[tuple[str, dict[str, Any]]] = []
    for method in methods:
        base: dict[str, Any] = {"workload": method}
        if method == "full":
            shard = [{}] if n == 1 else [{"zero_stage": 2}, {"zero_stage": 3}]
            for sh in shard:
                out.append((_label(method, sh, n), {**base, **sh}))
                out.append((_label(method, sh, n) + ", 8-bit AdamW", {**base, **sh, "optimizer": "adamw-8bit"}))
            off = {"zero_stage": 3 if n > 1 else 2, "offload": "optimizer"}
            out.append((_label(method, off, n), {**base, **off}))
        else:
            shard = [{}] if n == 1 else [{}, {"zero_stage": 3}]
            for sh in shard:
                out.append((_label(method, sh, n), {**base, **sh}))
    return out


def _label(method: str, sh: dict[str, Any], n: int) -> str:
    name = {"full": "full fine-tune (bf16 AMP)", "lora": "LoRA (bf16 base)",
            "qlora": "QLoRA (NF4 base)"}[method]
    if sh.get("offload"):
        return f"{name}, ZeRO-{sh['zero_stage']} + CPU optimizer offload"
    if sh.get("zero_stage"):
        return f"{name}, ZeRO-{sh['zero_stage']}" + (" / FSDP" if sh["zero_stage"] == 3 else "")
    return name + (", DDP" if n > 1 else "")


def _serving_variants(n: int, heads: int, fp8_gpu: bool) -> list[tuple[str, dict[str, Any]]]:
    if heads % n:
        return []
    par: dict[str, Any] = {"tensor_parallel": n} if n > 1 else {}
    out = []
    quants = ["none"] + (["fp8"] if fp8_gpu else []) + ["awq-4"]
    for q in quants:
        for kv in ("auto", "fp8"):
            label = {"none": "bf16 weights", "fp8": "FP8 weights", "awq-4": "AWQ 4-bit weights"}[q]
            label += ", FP8 KV cache" if kv == "fp8" else ""
            label += f", TP={n}" if n > 1 else ""
            out.append((label, {"workload": "serve", "quant": q, "kv_cache_dtype": kv, **par}))
    return out


def _inference_variants(n: int) -> list[tuple[str, dict[str, Any]]]:
    par: dict[str, Any] = {"pipeline_parallel": n} if n > 1 else {}
    split = f", layers split over {n} GPUs" if n > 1 else ""
    return [(f"{label}{split}", {"workload": "inference", "quant": q, **par})
            for q, label in (("none", "bf16"), ("int8", "8-bit (bitsandbytes)"), ("nf4", "4-bit NF4"),
                             ("awq-4", "AWQ 4-bit"))]


def _rank_key(objective: str, o: PlanOption) -> tuple[float, ...]:
    cost = o.speed.total_usd if o.speed.total_usd is not None else o.speed.usd_per_hour
    cost_v = cost if cost is not None else float("inf")
    speed_v = _speed_value(o)
    if objective == "cheapest":
        return (cost_v, -o.quality, o.num_gpus)
    if objective == "fastest":
        return (-speed_v, cost_v, o.num_gpus)
    if objective == "quality":
        return (-o.quality, o.num_gpus, cost_v)
    if objective == "smallest_gpu":  # the least memory that does the job, then the best method
        return (o.num_gpus * o.capacity_gib, -o.quality, cost_v)
    return (o.num_gpus, -o.quality, cost_v, -o.headroom_gib)


def _speed_value(o: PlanOption) -> float:
    """The speed the 'fastest' objective ranks by; 0 when the GPU has no sourced throughput."""
    return o.speed.train_tokens_per_s or o.speed.decode_tokens_per_s or 0.0


@dataclass
class _Search:
    """The planner's inputs and what it has found so far."""

    model: str
    goal: str
    objective: str
    margin: float
    budget: float | None
    seq_len: int | None
    batch: int
    dataset_tokens: float | None
    epochs: float
    price: dict[str, float]
    options: list[PlanOption] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    misses: list[tuple[float, str, Estimate]] = field(default_factory=list)
    names: tuple[str, str] = ("", "")

    def drop(self, reason: str, example: str) -> None:
        self.dropped[reason] += 1
        self.examples.setdefault(reason, example)

    def consider(self, label: str, fields: dict[str, Any], gname: str, n: int) -> None:
        """Estimate one strategy and file it as an option, a miss or a drop."""
        req: dict[str, Any] = {"model": self.model, "gpu": gname, "num_gpus": n,
                               "batch_size": self.batch, **fields}
        if self.seq_len is not None:
            req["seq_len"] = self.seq_len
        elif self.goal == "pre-train":
            req["seq_len"] = 4096
        try:
            job = resolve(make_request(**req))
            est = compute(job)
        except EstimatorError as e:
            self.drop("invalid for this model/GPU count", f"{label} on {n}x {gname}: {e}")
            return
        self.names = (est.model, est.model_id)
        where = f"{n}x {est.gpu}"
        fits = est.fits and (self.goal == "serve" or est.total_gib <= est.capacity_gib * (1 - self.margin))
        if not fits:
            ratio = est.total_gib / est.capacity_gib if self.goal != "serve" else (
                2.0 - est.headroom_gib / max(est.per_gpu.kv_cache_gib, 1e-6))
            self.misses.append((ratio, f"{label} on {where}", est))
            self.drop(f"does not fit with a {self.margin:.0%} margin",
                      f"{label} on {where}: {est.total_gib:.1f} GiB of {est.capacity_gib:.1f}")
            return
        sp = speed(job, est, self.dataset_tokens, self.epochs,
                   self.price.get(job.gpu.id, self.price.get(gname)))
        if self.budget is not None and (sp.usd_per_hour is None or sp.usd_per_hour > self.budget):
            why = "no price known" if sp.usd_per_hour is None else f"${sp.usd_per_hour:.2f}/h"
            self.drop("over the budget or unpriced", f"{label} on {where}: {why}")
            return
        method = str(fields["workload"])
        quality = QUALITY[method] if method in ("full", "lora", "qlora") else QUALITY.get(
            str(fields.get("quant", "none")), 2)
        self.options.append(PlanOption(
            label=f"{label} on {where}", method=method, gpu=est.gpu, gpu_id=est.gpu_id,
            num_gpus=n, request=job.req.model_dump(exclude_defaults=True),
            total_gib=est.total_gib, capacity_gib=est.capacity_gib, headroom_gib=est.headroom_gib,
            quality=quality, speed=sp, why=_why(est, sp), seq_len=job.seq_len,
            max_concurrent_seqs=est.serving.max_concurrent_seqs if est.serving else None,
        ))


MAX_TOKENS = 1e15
"""Largest dataset accepted, in tokens (a quadrillion: 60x the largest published pre-training
corpora of ~15-18T tokens)."""


def _number(name: str, value: float, low: float, high: float, *, low_ok: bool = False) -> None:
    """A finite number in (low, high] (``[low, high]`` with ``low_ok``), else InvalidRequestError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(name, value, "must be a number")
    inside = (low <= value if low_ok else low < value) and value <= high  # NaN: False
    if not inside or not math.isfinite(value):
        bound = f"at least {low:g}" if low_ok else f"more than {low:g}"
        raise InvalidRequestError(name, value, f"must be a finite number, {bound} and at most "
                                               f"{high:,.0f}")


def _check_inputs(*, max_gpus: int, budget: float | None, seq_len: int | None, batch_size: int,
                  users: int, dataset_tokens: float | None, epochs: float,
                  price: dict[str, float], margin: float, top: int) -> None:
    """Every planner input within its range: no NaN, infinity or negative price/count."""
    for name, count, high in (("max_gpus", max_gpus, 1_000_000), ("batch_size", batch_size,
                              1_000_000), ("users", users, 1_000_000), ("top", top, 1000)):
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= high:
            raise InvalidRequestError(name, count, f"must be a whole number from 1 to {high:,}")
    if seq_len is not None and (not isinstance(seq_len, int) or not 1 <= seq_len <= 10_000_000):
        raise InvalidRequestError("seq_len", seq_len, "must be between 1 and 10,000,000 tokens")
    if budget is not None:
        _number("budget_usd_per_hour", budget, 0, 1e9)
    if dataset_tokens is not None:
        _number("dataset_tokens", dataset_tokens, 0, MAX_TOKENS)
    _number("epochs", epochs, 0, 1e6)
    _number("margin", margin, 0, 0.9, low_ok=True)
    for gpu, usd in price.items():
        _number(f"price[{gpu}]", usd, 0, 1e6, low_ok=True)


def plan(model: str, goal: Goal = "fine-tune", gpus: tuple[str, ...] | list[str] | None = None,
         max_gpus: int = 64, objective: Objective = "fewest_gpus",
         budget_usd_per_hour: float | None = None, seq_len: int | None = None,
         batch_size: int = 1, users: int = 1, dataset_tokens: float | None = None,
         epochs: float = 1.0, price: dict[str, float] | None = None, margin: float = 0.05,
         top: int = 5, methods: Sequence[str] | None = None, quant: str | None = None) -> Plan:
    """Plan how to run ``model`` for ``goal``; see the module docstring.

    ``methods`` keeps only those fine-tuning methods, ``quant`` only that serving/inference weight
    format; both filter before the top options are chosen, so the top are the best of what was
    asked for (and the assumptions shown are those of the first of them)."""
    if goal not in ("fine-tune", "pre-train", "serve", "inference"):
        raise InvalidRequestError("goal", goal, "accepted: fine-tune, pre-train, serve, inference")
    if objective not in ("fewest_gpus", "cheapest", "fastest", "quality", "smallest_gpu"):
        raise InvalidRequestError("objective", objective,
                                  "accepted: fewest_gpus, cheapest, fastest, quality, smallest_gpu")
    _check_inputs(max_gpus=max_gpus, budget=budget_usd_per_hour, seq_len=seq_len,
                  batch_size=batch_size, users=users, dataset_tokens=dataset_tokens,
                  epochs=epochs, price=price or {}, margin=margin, top=top)
    resolve_model(make_request(model=model))  # an unknown or impossible model: its own error
    for gname in gpus or ():
        find_gpu(gname)
    search = _Search(model=model, goal=goal, objective=objective, margin=margin,
                     budget=budget_usd_per_hour, seq_len=seq_len,
                     batch=users if goal == "serve" else batch_size, dataset_tokens=dataset_tokens,
                     epochs=epochs, price=price or {})
    fewest = objective in ("fewest_gpus", "smallest_gpu")
    for gname in list(gpus or DEFAULT_GPUS):
        done: set[str] = set()  # methods already placed on fewer GPUs of this type
        for n in [c for c in GPU_COUNTS if c <= max_gpus]:
            variants = [(lbl, f) for lbl, f in _variants(goal, n, model, gname)
                        if not (fewest and _key(f) in done)]
            if not variants:
                break  # more GPUs of this type cannot rank higher
            for label, fields in variants:
                search.consider(label, fields, gname, n)
            gid = _gpu_id(gname)
            done |= {_key(o.request) for o in search.options if o.gpu_id == gid and o.num_gpus == n}
    wanted = [o for o in search.options if (not methods or o.method in methods) and (
        quant is None or o.method not in ("serve", "inference")
        or str(o.request.get("quant") or "none") == quant)]
    ranked = sorted(wanted, key=lambda o: _rank_key(objective, o))
    options = [o.model_copy(update={"recipe": recipe_for(o)}) for o in _diverse(ranked, top)]
    dropped = [Dropped(reason=r, count=c, example=search.examples[r])
               for r, c in search.dropped.most_common()]
    advice: list[str] = []
    nearest = None
    assumptions: list[str] = []
    if options:
        assumptions = list(compute(resolve(make_request(**options[0].request))).assumptions)
    elif search.misses:
        _, text, est = min(search.misses, key=lambda m: m[0])
        nearest = f"{text}: {est.total_gib:.1f} GiB per GPU of {est.capacity_gib:.1f} usable"
        advice = [f"{s.change} ({s.total_gib:.1f} GiB)" for s in _suggest(est, model)]
        if budget_usd_per_hour is not None:
            advice.append("raise the budget or name GPUs with known prices (--price GPU=USD)")
        advice.append(f"allow more GPUs (max_gpus={max_gpus}) or GPUs with more memory")
        assumptions = list(est.assumptions)
    unrated = sorted({o.gpu for o in search.options if not _speed_value(o)})
    if unrated and objective == "fastest":
        assumptions.append(
            f"speed ranking skips {', '.join(unrated)}: the catalog has no sourced throughput figure "
            "for them (memory facts only), so they are listed after the GPUs that have one")
    name, model_id = search.names if search.names[0] else (model, model)
    return Plan(model=name, model_id=model_id, goal=goal, objective=objective,
                options=options, dropped=dropped, nearest_miss=nearest, advice=advice,
                assumptions=assumptions)


def recipe_for(o: PlanOption) -> Recipe:
    """The configuration and commands that run this option."""
    req = {**o.request, "num_gpus": o.num_gpus, "seq_len": o.seq_len}
    if o.method == "serve":
        return serving_recipe(req, o.seq_len, max(int(req.get("batch_size", 1)), 1))
    if o.method == "inference" and str(req.get("quant", "")).startswith("gguf"):
        return gguf_recipe(str(req["model"]), str(req["quant"]), o.seq_len)
    if o.method == "inference":
        return Recipe(files={}, commands=[f"python -c \"from transformers import pipeline; "
                                          f"pipeline('text-generation', model='{req['model']}', "
                                          "device_map='auto', torch_dtype='auto')\""], notes=[])
    return training_recipe(req)


def _diverse(options: list[PlanOption], top: int) -> list[PlanOption]:
    """Best option of each method (or serving precision) first, in rank order, then the rest."""
    seen: set[str] = set()
    lead: list[PlanOption] = []
    for o in options:
        key = o.method if o.method in ("full", "lora", "qlora") else str(o.request.get("quant", "none"))
        if key not in seen:
            seen.add(key)
            lead.append(o)
    rest = [o for o in options if o not in lead]
    ranked = sorted(lead, key=options.index) + rest
    return ranked[: max(top, len(lead))]


def _variants(goal: str, n: int, model: str, gname: str) -> list[tuple[str, dict[str, Any]]]:
    if goal in ("fine-tune", "pre-train"):
        return _training_variants(goal, n)
    if goal == "serve":
        from .catalog import find_gpu

        job = resolve(make_request(model=model, gpu=gname))
        return _serving_variants(n, job.model.heads, find_gpu(gname).supports_fp8)
    return _inference_variants(n)


def _key(fields: dict[str, Any]) -> str:
    """What counts as 'the same method' when looking for the fewest GPUs."""
    w = str(fields.get("workload", ""))
    return w if w in ("full", "lora", "qlora") else f"{w}:{fields.get('quant', 'none')}"


def _gpu_id(name: str) -> str:
    from .catalog import find_gpu

    return find_gpu(name).id


def _why(est: Estimate, sp: Speed) -> str:
    parts = [f"{est.total_gib:.1f} of {est.capacity_gib:.1f} GiB per GPU"]
    if est.serving:
        parts.append(f"KV pool holds {est.serving.max_concurrent_seqs} sequences of "
                     f"{est.settings['seq_len']} tokens")
    if sp.train_tokens_per_s:
        parts.append(f"~{sp.train_tokens_per_s:,.0f} tokens/s")
    if sp.decode_tokens_per_s:
        parts.append(f"~{sp.decode_tokens_per_s:,.0f} generated tokens/s")
    if not (sp.train_tokens_per_s or sp.decode_tokens_per_s) and sp.not_estimated:
        parts.append("speed not estimated (no sourced throughput figure for this GPU)")
    if sp.total_usd is not None:
        parts.append(f"~${sp.total_usd:,.0f} for the run")
    elif sp.usd_per_hour is not None:
        parts.append(f"${sp.usd_per_hour:.2f}/h")
    return "; ".join(parts)


def _suggest(est: Estimate, model: str) -> list[Any]:
    from .estimate import estimate as run

    s = est.settings
    try:
        return run(model=model, gpu=est.gpu_id, num_gpus=est.num_gpus, workload=str(s["workload"]),
                   seq_len=int(str(s["seq_len"])), batch_size=int(str(s["batch_size"]))).suggestions[:3]
    except EstimatorError:
        return []


__all__ = ["Plan", "PlanOption", "Dropped", "plan", "prices"]
