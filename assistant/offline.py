"""Offline mode: answer an understood question by calling the same tools as the LLM agent.

``plan_calls(ask)`` says which tools answer the question (the scripted test model uses it too);
``compose(ask, box)`` runs them through a :class:`~assistant.tools.Toolbox` and renders the
answer: verdict first, the fit matrix or breakdown as a table, what to change, citations.
``answer_from_results`` renders an answer from tool results someone else obtained (the LLM
agent's), which is how an ungrounded LLM answer is corrected.
"""

from __future__ import annotations

from typing import Any

from tools.estimator import Estimate, FitMatrix, search_models

from . import citing, render
from .ask import Ask
from .events import Answer, Option, Source
from .tools import Toolbox, ToolResult

SIZING = ("check_fit", "estimate_memory", "plan_gpus")
_TOPICS = {
    "qlora": ("QLoRA 4-bit NF4 base what fits", "QLoRA 4-bit NF4 显存"),
    "lora": ("LoRA adapters memory accounting", "LoRA 显存"),
    "full": ("full fine-tuning memory gradients optimizer states", "全参微调 梯度与优化器状态 显存"),
    "serve": ("vLLM gpu_memory_utilization KV cache pool concurrency", "vLLM 如何确定 KV cache 大小"),
    "zero": ("ZeRO stages what each stage shards", "ZeRO 各阶段切分什么"),
    "quant": ("quantization bits per weight", "量化 每个权重的比特数"),
    "kv": ("KV cache formula GQA", "KV cache 公式"),
    "inference": ("GPU memory math weights KV cache", "显存估算 权重 KV cache"),
    "plan": ("choosing a GPU by memory tier", "按显存档位选择 GPU"),
}


def topic_query(ask: Ask) -> str:
    """A guide query for the main concept of a sizing question, in the question's language."""
    w = ask.considered()
    if ask.intent == "plan":
        key = "plan"
    elif ask.target == "kv_cache" or (ask.seq_len or 0) > 16384:
        key = "kv"
    elif (ask.zero_stage or (ask.num_gpus or 1) > 1) and set(w) & {"full", "lora", "qlora"}:
        key = "zero"
    elif "qlora" in w:
        key = "qlora"
    elif "lora" in w:
        key = "lora"
    elif "full" in w:
        key = "full"
    elif "serve" in w:
        key = "serve"
    elif ask.quant:
        key = "quant"
    else:
        key = "inference"
    return _TOPICS[key][1 if ask.lang == "zh" else 0]


def _gpu_args(ask: Ask) -> dict[str, Any]:
    args: dict[str, Any] = {"gpu": "local" if ask.gpu_local else ask.gpu or "H100",
                            "num_gpus": ask.num_gpus or 1}
    if ask.gpu_memory_gb is not None and not ask.gpu:
        args["gpu_memory_gb"] = ask.gpu_memory_gb
    if ask.seq_len is not None:
        args["seq_len"] = ask.seq_len
    return args


def estimate_args(ask: Ask, workload: str) -> dict[str, Any]:
    """estimate_memory arguments for one workload of the question."""
    args: dict[str, Any] = {"model": ask.model, "workload": workload, **_gpu_args(ask)}
    batch = ask.users if workload == "serve" and ask.users else ask.batch_size
    if batch:
        args["batch_size"] = batch
    quant = ask.quant
    if workload == "full" or (workload == "qlora" and quant not in ("nf4", "fp4")):
        quant = None
    for key, value in (("quant", quant), ("weight_dtype", ask.weight_dtype),
                       ("kv_cache_dtype", ask.kv_cache_dtype), ("optimizer", ask.optimizer),
                       ("zero_stage", ask.zero_stage), ("offload", ask.offload),
                       ("tensor_parallel", ask.tensor_parallel), ("grad_ckpt", ask.grad_ckpt)):
        if value is not None:
            args[key] = value
    if ask.engine and (ask.engine != "deepspeed" or workload in ("full", "lora", "qlora")):
        args["engine"] = ask.engine
    return args


def _plan_args(ask: Ask) -> dict[str, Any]:
    args: dict[str, Any] = {"model": ask.model, "goal": ask.goal()}
    if ask.gpu:
        args["gpus"] = [ask.gpu]
    if ask.users:
        args["users"] = ask.users
    if ask.seq_len:
        args["seq_len"] = ask.seq_len
    if ask.workloads and args["goal"] in ("fine-tune", "pre-train"):
        args["methods"] = ask.workloads
    if ask.quant or ask.weight_dtype in ("bf16", "fp16"):
        args["quant"] = ask.quant or "none"
    return args


def plan_calls(ask: Ask) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls that answer ``ask`` (none when something essential is missing)."""
    lang = {"lang": "zh"} if ask.lang == "zh" else {}
    if ask.intent == "explain":
        return [("search_guide", {"query": ask.query, "k": 3, **lang})]
    if ask.missing() or ask.intent is None:
        return []
    workloads = ask.considered()
    calls: list[tuple[str, dict[str, Any]]] = []
    if ask.intent == "plan":
        calls.append(("plan_gpus", _plan_args(ask)))
        return [*calls, ("search_guide", {"query": topic_query(ask), "k": 2, **lang})]
    matrix = ask.target in ("max_batch", "max_seq") or (
        ask.intent == "fit" and len(workloads) > 1 and not ask.has_settings())
    if matrix:
        calls.append(("check_fit", {"model": ask.model, **_gpu_args(ask), "workloads": workloads}))
    else:
        calls += [("estimate_memory", estimate_args(ask, w)) for w in workloads]
    calls.append(("search_guide", {"query": topic_query(ask), "k": 2, **lang}))
    return calls


def compose(ask: Ask, box: Toolbox) -> Answer:
    """Answer ``ask`` offline: run the planned tools, then render from their results."""
    for name, args in plan_calls(ask):
        box.call(name, args)
    sizing = [r for r in box.results if r.name in SIZING and r.ok]
    fm = next((r.data for r in sizing if isinstance(r.data, FitMatrix)), None)
    if fm is not None and not any(o.fits for o in _options(sizing)):
        smallest = min((r for r in fm.rows if not r.error), key=lambda r: r.total_gib, default=None)
        if smallest is not None:  # what would make the cheapest workload fit
            box.call("estimate_memory", estimate_args(ask, smallest.workload))
    return answer_from_results(ask, box.results)


def _options(results: list[ToolResult]) -> list[Option]:
    seen: dict[str, Option] = {}
    for r in results:
        for o in r.options:
            seen.setdefault(o.workload, o)
    return list(seen.values())


def _sources(results: list[ToolResult]) -> list[Source]:
    out: dict[str, Source] = {}
    for r in results:
        for s in r.sources:
            out.setdefault(s.title, s)
    return list(out.values())


def answer_from_results(ask: Ask, results: list[ToolResult], backend: str = "offline") -> Answer:
    """Render the answer to ``ask`` from tool results (the composer's or the LLM agent's)."""
    sources = _sources(results)
    request = ask.model_dump(exclude_defaults=True, exclude={"query", "followup"})
    base: dict[str, Any] = {"backend": backend, "request": request, "lang": ask.lang,
                            "sources": sources}
    if ask.intent == "explain" or (ask.intent is None and not ask.mentions()):
        passages = [p for r in results if r.name == "search_guide" and r.ok for p in r.data or []]
        return Answer(answer=citing.explanation(passages, ask.lang), **base)
    if ask.missing():
        names = [m.name for m in search_models(ask.family)][:8] if ask.family else []
        note = next((r.text for r in results if r.name == "probe_local_gpus"), "")
        return Answer(verdict="need_more_info", missing=ask.missing(),
                      answer=render.missing(ask.missing(), ask.lang, ask.family or "", names,
                                             note), **base)
    sizing = [r for r in results if r.name in SIZING and r.ok]
    errors = [r.text for r in results if r.name in SIZING and not r.ok]
    if not sizing:
        text = render.failure(errors, ask.lang)
        return Answer(verdict="need_more_info", answer=text, **base)
    plans = [r for r in sizing if r.name == "plan_gpus"]
    if plans and (ask.intent == "plan" or len(plans) == len(sizing)):
        options = plans[0].options
        planned, others = plans[0].data
        md = render.plan(planned, others, ask.lang) + citing.citations(sources, ask.lang)
        return Answer(verdict="yes" if options else "no", options=options, answer=md, **base)
    options = _options(sizing)
    considered = set(ask.considered())
    options = [o for o in options if o.workload in considered] or options
    estimates = [r.data for r in sizing if isinstance(r.data, Estimate)]
    fm = next((r.data for r in sizing if isinstance(r.data, FitMatrix)), None)
    md, figures = render.sizing(ask, options, estimates, fm, ask.lang)
    md += citing.citations(sources, ask.lang)
    show_verdict = ask.intent == "fit" or ask.has_gpu
    return Answer(verdict=("yes" if any(o.fits for o in options) else "no") if show_verdict
                  else None, options=options if show_verdict else [], answer=md,
                  figures=figures, **base)
