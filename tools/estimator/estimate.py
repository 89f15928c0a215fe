"""``estimate()``: resolve the request, add up the memory terms, compare with the GPU, suggest.

Every number comes from one function in weights/training/activations/kv/overhead/serving.
"""

from __future__ import annotations

import difflib
from typing import Any, get_args

from pydantic import ValidationError

from .activations import inference_activation_bytes, training_activation_bytes
from .errors import EstimatorError, InvalidRequestError
from .kv import job_kv_cache_bytes
from .overhead import allocator_slack_bytes, overhead_bytes
from .params import param_split
from .request import EstimateRequest
from .resolve import Job, resolve
from .result import GIB, Estimate, PerGpu, gib
from .serving import CUDA_GRAPHS, seq_kv_bytes, serving_capacity
from .specs import GpuSpec
from .suggest import suggestions_for
from .training import (
    gradients_bytes,
    offloaded_host_bytes,
    optimizer_bytes,
    trainable_params,
    zero3_weight_bytes,
)
from .weights import weights_bytes_per_gpu

HOST_BASE_BYTES = 2 * GIB
LLAMA_CPP_UBATCH = 512


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
        return zero3_weight_bytes(job)
    return weights_bytes_per_gpu(job)


def _activations(job: Job) -> float:
    if job.training:
        return training_activation_bytes(job)
    if job.engine == "llama.cpp":
        prompt = job.seq_len - job.req.new_tokens if job.req.new_tokens else job.seq_len
        return inference_activation_bytes(job, tokens=job.batch * min(prompt, LLAMA_CPP_UBATCH))
    return inference_activation_bytes(job)


def compute(job: Job) -> Estimate:
    """The estimate for a resolved job, without suggestions."""
    weights = _weights(job)
    settings = {
        "workload": job.workload, "engine": job.engine, "weight_dtype": job.weight_dtype,
        "quant": job.quant, "kv_cache_dtype": job.kv_dtype, "seq_len": job.seq_len,
        "batch_size": job.batch, "grad_ckpt": job.req.grad_ckpt, "flash_attn": job.req.flash_attn,
        "optimizer": job.req.optimizer if job.training else None,
        "master_weights": job.master_weights if job.workload == "full" else None,
        "lora_r": job.req.lora_r if job.lora_modules else None,
        "lora_targets": ",".join(job.lora_modules) or None,
        "zero_stage": job.req.zero_stage, "offload": job.req.offload,
        "tensor_parallel": job.req.tensor_parallel, "pipeline_parallel": job.req.pipeline_parallel,
    }
    capacity = job.gpu.usable_bytes
    serving = None
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
    else:
        kv = job_kv_cache_bytes(job)
        act = _activations(job)
        grads = gradients_bytes(job)
        opt = optimizer_bytes(job)
        peak = weights + kv + act + grads + opt
        overhead = overhead_bytes(job, peak)
        reserved = peak + allocator_slack_bytes(job, peak)
        total = peak + overhead
        per = PerGpu(weights_gib=gib(weights), kv_cache_gib=gib(kv), activations_gib=gib(act),
                     gradients_gib=gib(grads), optimizer_gib=gib(opt), overhead_gib=gib(overhead))
        fits = total <= capacity
        headroom = capacity - total
    split_total = param_split(job.model).total
    return Estimate(
        model=job.model.name, model_id=job.model.id, params_b=round(split_total / 1e9, 3),
        trainable_params=trainable_params(job) if job.training else 0,
        workload=job.workload, gpu=job.gpu.name, gpu_id=job.gpu.id, num_gpus=job.req.num_gpus,
        per_gpu=per, peak_allocated_gib=gib(peak), peak_reserved_gib=gib(reserved),
        total_gib=gib(total),
        capacity_gib=gib(capacity), fits=fits, headroom_gib=gib(headroom),
        host_ram_gib=gib(HOST_BASE_BYTES + offloaded_host_bytes(job)), serving=serving,
        assumptions=list(job.assumptions), settings=settings,
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
