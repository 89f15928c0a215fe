"""``estimate()``: resolve the request, add up the memory terms, compare with the GPU, suggest.

Every number comes from one function in weights/training/activations/kv/overhead/serving.
"""

from __future__ import annotations

import difflib
from typing import Any, get_args

from pydantic import ValidationError

from .activations import LOGITS_TO_KEEP_VERSION, all_prompt_logits, prefill_working_set
from .assumptions import Assumption, assumption, texts, unique
from .attention import alibi_kind, attention_path, check_attention, model_fixed_path
from .constants import SINGLE_SOURCE
from .errors import EstimatorError, InvalidRequestError
from .frameworks import check_switches, loss_path
from .kv import job_kv_cache_bytes
from .overhead import allocator_slack_bytes, overhead_bytes
from .params import param_split
from .phases import PHASES, bytes_per_logit, peak_phase, step_temporary_bytes, training_phases
from .request import EstimateRequest
from .resolve import Job, resolve
from .result import GIB, Estimate, PerGpu, gib
from .serving import CUDA_GRAPHS, seq_kv_bytes, serving_capacity
from .specs import GpuSpec
from .suggest import suggestions_for
from .training import (
    adapter_weight_bytes,
    offloaded_host_bytes,
    trainable_params,
    zero3_weight_bytes,
)
from .weights import gptq_bits_per_weight, kbit_prepared, weights_bytes_per_gpu

HOST_BASE_BYTES = 2 * GIB
"""Host RAM of the Python process with torch/CUDA loaded before any offload. Not from framework
code; single-source constant (marked ``single_source_constant`` in the assumptions)."""
LLAMA_CPP_UBATCH = 512
"""llama.cpp physical micro-batch: common/common.h ``n_ubatch = 512`` (b2424+, March 2024)."""


def make_request(req: EstimateRequest | None = None, **fields: Any) -> EstimateRequest:
    """Build a request from keyword fields, turning validation errors into one-line errors."""
    if req is not None:
        fields = {**req.model_dump(exclude_unset=True), **fields}
    try:
        return EstimateRequest(**fields)
    except ValidationError as e:
        err = e.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "request"
        value = err.get("input")
        annotation = EstimateRequest.model_fields[name].annotation if name in EstimateRequest.model_fields else None
        choices = [a for arg in get_args(annotation) for a in (get_args(arg) or (arg,)) if isinstance(a, str)]
        if choices:
            near = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.4)
            hint = f"accepted: {', '.join(choices)}" + (f"; did you mean {near[0]!r}?" if near else "")
            raise InvalidRequestError(name, value, hint) from None
        if err["type"] == "extra_forbidden":
            near = difflib.get_close_matches(name, list(EstimateRequest.model_fields), n=1)
            raise InvalidRequestError(name, value, "unknown field" + (f"; did you mean {near[0]!r}?" if near else "")) from None
        raise InvalidRequestError(name, value, err["msg"].lower()) from None


def _weights(job: Job) -> float:
    if job.training and (job.req.zero_stage == 3 or job.req.offload == "optimizer+params"):
        return zero3_weight_bytes(job) + adapter_weight_bytes(job)
    return weights_bytes_per_gpu(job) + adapter_weight_bytes(job)


def prefill_tokens(job: Job) -> int:
    """Prompt tokens one inference forward pass holds at once, per engine.

    transformers runs the whole prompt in one forward; llama.cpp in micro-batches of ``-ub`` 512
    (llama.cpp common/common.h n_ubatch); vLLM and SGLang chunk the prefill into at most
    ``max_num_batched_tokens`` tokens per step (vLLM chunked prefill, SGLang chunked_prefill_size).
    """
    prompt = job.seq_len - job.req.new_tokens if job.req.new_tokens else job.seq_len
    prompt = max(1, prompt)
    if job.engine == "llama.cpp":
        return job.batch * min(prompt, LLAMA_CPP_UBATCH)
    if job.engine in ("vllm", "sglang"):
        return min(job.batch * prompt, job.req.max_num_batched_tokens)
    return job.batch * prompt


def _prefill(job: Job) -> dict[str, float]:
    """The engine's prefill working set (one forward over ``prefill_tokens``)."""
    return prefill_working_set(job, tokens=prefill_tokens(job))


def prefill_engine(job: Job) -> str:
    """The engine and version whose prefill the estimate follows."""
    if job.engine == "hf":
        keep = "all prompt logits" if all_prompt_logits(job) else "last-position logits"
        return f"transformers {job.req.transformers_version}, {attention_path(job)}, {keep}"
    if job.engine in ("vllm", "sglang"):
        return f"{job.engine} chunked prefill (max_num_batched_tokens {job.req.max_num_batched_tokens})"
    return f"{job.engine} ubatch {LLAMA_CPP_UBATCH}, {'flash' if attention_path(job) == 'flash' else 'no -fa'}"


def _training_notes(job: Job, phases: dict[str, float], peak: str | None) -> list[Assumption]:
    """Assumptions of the training-step model (phases, loss path, k-bit preparation, step)."""
    out: list[Assumption] = []
    if peak:
        table = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
        out.append(assumption("peak_phase", phase=peak, phase_zh=PHASE_ZH[peak],
                              gib=phases[peak], table=table))
    path = loss_path(job)
    out.append(assumption("loss_path", path=path.name, forward_bytes=path.forward,
                          loss_bytes=path.loss, backward_bytes=path.backward,
                          source=path.source.split(":")[0]))
    if job.workload == "qlora" and job.engine in ("hf", "deepspeed"):
        out.append(assumption("kbit_upcast" if kbit_prepared(job) else "kbit_no_upcast",
                              quant=job.quant))
    tmp, impl, source = step_temporary_bytes(job)
    if tmp > 0:
        out.append(assumption("foreach_step", optimizer=job.req.optimizer))
    elif impl == "fused" and job.req.offload == "none":
        out.append(assumption("fused_step", optimizer=job.req.optimizer,
                              impl=source.split(" ")[0]))
    if job.req.grad_accum > 1:
        out.append(assumption("grad_accum", steps=job.req.grad_accum))
    elif job.req.zero_stage == 0 and job.engine != "deepspeed":
        out.append(assumption("no_grad_accum"))
    if job.req.activation_offload:
        out.append(assumption("activation_offload"))
    if job.req.compile:
        out.append(assumption("torch_compile"))
    if job.req.offload == "optimizer+params":
        out.append(assumption("param_offload"))
    return out


def _notes(job: Job, phases: dict[str, float], peak: str | None) -> list[Assumption]:
    """Assumptions the formulas add to the request's defaults."""
    out = _training_notes(job, phases, peak) if job.training else []
    m = job.model
    path = attention_path(job)
    if model_fixed_path(job):
        out.append(assumption("remote_eager" if path == "eager" else "model_attention",
                              model=m.name, path=path))
    if path == "eager" and job.workload != "serve":
        out.append(assumption("eager_attention", heads=m.heads))
    if alibi_kind(job) == "baichuan-mask":
        out.append(assumption("alibi_bias", model=m.name))
    elif alibi_kind(job) == "slopes":
        out.append(assumption("alibi_slopes", model=m.name))
    if job.quant.startswith("gptq"):
        group = job.req.gptq_group_size
        out.append(assumption(
            "gptq_layout", group=group if group > 0 else "per-channel",
            act_order=", act-order" if job.req.gptq_act_order else "",
            act_order_zh="，act-order" if job.req.gptq_act_order else "",
            bits=gptq_bits_per_weight(job)))
    if job.workload == "inference":
        tokens = prefill_tokens(job)
        if job.engine in ("vllm", "sglang"):
            out.append(assumption("prefill_chunked", engine=job.engine, tokens=tokens))
        elif job.engine == "hf":
            out.append(assumption("prefill_whole", engine="transformers", tokens=tokens))
            if all_prompt_logits(job) and not job.req.all_logits:
                out.append(assumption("prefill_all_logits", version=job.req.transformers_version,
                                      since=".".join(map(str, LOGITS_TO_KEEP_VERSION))))
    if job.req.pipeline_parallel > 1 and m.tied_embeddings:
        out.append(assumption("tied_pipeline"))
    out += _single_source_notes(job)
    return out


def _single_source_notes(job: Job) -> list[Assumption]:
    """The single-source constants (``constants.SINGLE_SOURCE``) this job's estimate uses."""
    from . import overhead, serving, training

    used: list[tuple[str, float]] = []
    if job.workload == "serve":
        name = "NON_TORCH_TP" if job.req.num_gpus > 1 else "NON_TORCH_TP1"
        used += [(name, float(getattr(serving, name))), ("CUDA_GRAPHS", serving.CUDA_GRAPHS)]
    elif job.req.num_gpus > 1:
        used.append(("NCCL_BYTES", float(overhead.NCCL_BYTES)))
    if job.req.offload_device == "nvme" and job.req.offload != "none":
        used.append(("NVME_STAGING_BYTES", float(training.NVME_STAGING_BYTES)))
    return [assumption("single_source_constant", name=name, value=value / GIB,
                       source=SINGLE_SOURCE[name]) for name, value in used]


PHASE_ZH = {"load": "加载", "forward": "前向", "loss": "损失计算", "backward": "反向传播",
            "optimizer": "优化器更新"}


def compute(job: Job) -> Estimate:
    """The estimate for a resolved job, without suggestions."""
    check_attention(job)
    weights = _weights(job)
    settings = {
        "workload": job.workload, "engine": job.engine, "weight_dtype": job.weight_dtype,
        "quant": job.quant, "kv_cache_dtype": job.kv_dtype, "seq_len": job.seq_len,
        "batch_size": job.batch, "grad_ckpt": job.req.grad_ckpt, "flash_attn": job.req.flash_attn,
        "attention": attention_path(job),
        "optimizer": job.req.optimizer if job.training else None,
        "master_weights": job.master_weights if job.workload == "full" else None,
        "lora_r": job.req.lora_r if job.lora_modules else None,
        "lora_targets": ",".join(job.lora_modules) or None,
        "zero_stage": job.req.zero_stage, "offload": job.req.offload,
        "tensor_parallel": job.req.tensor_parallel, "pipeline_parallel": job.req.pipeline_parallel,
    }
    capacity = job.gpu.usable_bytes
    serving = None
    phases: dict[str, float] = {}
    prefill: dict[str, float] = {}
    peak_name: str | None = None
    logit_bytes: float | None = None
    if job.workload == "serve":
        serving = serving_capacity(job, weights)
        pool = serving.kv_pool_gib * GIB
        act = serving.activation_profile_gib * GIB
        need = seq_kv_bytes(job, job.seq_len) * job.batch
        peak = weights + pool + act
        overhead = serving.non_torch_gib * GIB + CUDA_GRAPHS
        # vLLM claims its whole budget; when weights alone overflow it, show what it would need
        total = max(serving.budget_gib * GIB, peak + serving.non_torch_gib * GIB) + CUDA_GRAPHS
        per = PerGpu(weights_gib=gib(weights), kv_cache_gib=gib(pool), activations_gib=gib(act),
                     overhead_gib=gib(overhead))
        reserved = peak
        fits = pool >= need > 0 and total <= capacity
        headroom = pool - need
        settings["gpu_memory_utilization"] = job.req.gpu_memory_utilization
        settings["max_num_batched_tokens"] = job.req.max_num_batched_tokens
    elif job.training:
        check_switches(job)
        by_phase = training_phases(job, weights)
        peak_name = peak_phase(by_phase)
        phases = {name: gib(by_phase[name].total) for name in PHASES}
        p = by_phase[peak_name]
        peak = p.total
        overhead = overhead_bytes(job, peak)
        reserved = peak + allocator_slack_bytes(job, peak)
        total = peak + overhead
        per = PerGpu(weights_gib=gib(p.weights), activations_gib=gib(p.activations),
                     gradients_gib=gib(p.gradients), optimizer_gib=gib(p.optimizer),
                     logits_gib=gib(p.logits), temporaries_gib=gib(p.temporaries),
                     overhead_gib=gib(overhead))
        fits = total <= capacity
        headroom = capacity - total
        logit_bytes = bytes_per_logit(job)
        settings["loss"] = loss_path(job).id
        settings["grad_accum"] = job.req.grad_accum
    else:
        kv = job_kv_cache_bytes(job)
        working = _prefill(job)
        act = working["peak"]
        peak = weights + kv + act
        overhead = overhead_bytes(job, peak)
        reserved = peak + allocator_slack_bytes(job, peak)
        total = peak + overhead
        per = PerGpu(weights_gib=gib(weights), kv_cache_gib=gib(kv), activations_gib=gib(act),
                     overhead_gib=gib(overhead))
        fits = total <= capacity
        headroom = capacity - total
        settings["prefill_tokens"] = prefill_tokens(job)
        prefill = {k: (v if k == "tokens" else gib(v)) for k, v in working.items()}
    split_total = param_split(job.model).total
    items = unique([*job.assumptions, *_notes(job, phases, peak_name)])
    return Estimate(
        model=job.model.name, model_id=job.model.id, params_b=round(split_total / 1e9, 3),
        trainable_params=trainable_params(job) if job.training else 0,
        workload=job.workload, gpu=job.gpu.name, gpu_id=job.gpu.id, num_gpus=job.req.num_gpus,
        per_gpu=per, peak_allocated_gib=gib(peak), peak_reserved_gib=gib(reserved),
        total_gib=gib(total),
        capacity_gib=gib(capacity), fits=fits, headroom_gib=gib(headroom),
        host_ram_gib=gib(HOST_BASE_BYTES + offloaded_host_bytes(job)), serving=serving,
        assumptions=texts(items), assumption_items=items, settings=settings,
        phases=phases, peak_phase=peak_name, bytes_per_logit=logit_bytes,
        prefill=prefill, prefill_engine=prefill_engine(job) if prefill else None,
    )


def estimate(req: EstimateRequest | None = None, /, *, suggest: bool = True,
             gpu_spec: GpuSpec | None = None, **fields: Any) -> Estimate:
    """Estimate per-GPU memory. Pass a request or its fields: ``estimate(model="llama-2-13b")``.

    ``gpu_spec`` overrides the catalog GPU (the probe's local card with its free memory).
    Raises EstimatorError (with a one-line message) for unknown names and impossible values.
    """
    request = make_request(req, **fields) if (fields or req is None) else req
    job = resolve(request, gpu_spec)
    est = compute(job)
    if suggest and not est.fits:
        est = est.model_copy(update={"suggestions": suggestions_for(job, est, compute)})
    return est


__all__ = ["EstimatorError", "estimate", "make_request", "compute"]
