"""Training state per GPU: LoRA adapters, gradients and optimizer states, with ZeRO sharding.

Bytes per trainable parameter (before sharding):

| mode (see weights.precision_mode) | weights | gradients | optimizer (AdamW) |
|---|---|---|---|
| amp: fp32 params + autocast (HF Trainer) | 4 | 4 | 8 (fp32 m, v) |
| ds-mixed: 16-bit params + fp32 master (ZeRO) | 2 | 2 + 4 (fp32 grad partition) | 4 master + 8 |
| pure16: 16-bit everything | 2 | 2 | 4 (m, v in bf16) |

8-bit AdamW keeps m and v in 8 bits with block scales (2 B/param, https://arxiv.org/abs/2110.02861);
SGD with momentum keeps one buffer; Adafactor keeps factored row and column second moments.
LoRA adapters are created in fp32 by PEFT (``autocast_adapter_dtype=True``), so each adapter
parameter costs 4 (weight) + 4 (grad) + 8 (AdamW) bytes. ZeRO stage 1 shards optimizer states,
stage 2 also gradients, stage 3 also parameters, each over the data-parallel degree
(https://arxiv.org/abs/1910.02054); offload moves the sharded states to host memory.
"""

from __future__ import annotations

from .params import param_split
from .resolve import Job
from .weights import deepspeed_casts_module, precision_mode, weights_bytes_per_gpu

OPTIMIZER_STATE_BYTES: dict[str, float] = {
    "adamw": 8.0, "paged-adamw": 8.0, "adamw-8bit": 2.0, "paged-adamw-8bit": 2.0,
    "sgd": 0.0, "sgd-momentum": 4.0,
}
"""Optimizer state bytes per trainable fp32 parameter: torch/optim/adamw.py (torch 2.x)
``exp_avg`` and ``exp_avg_sq`` (4 + 4); bitsandbytes/optim/optimizer.py Optimizer8bit (0.41-0.45)
``state1``/``state2`` uint8 with blockwise absmax (1 + 1, block scales negligible); SGD
momentum_buffer (4)."""


def lora_module_shapes(job: Job) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of each LoRA-targetable projection of one layer."""
    m = job.model
    q_out = m.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim if m.is_mla else m.head_dim)
    kv_out = m.kv_heads * m.head_dim
    o_in = m.heads * (m.v_head_dim if m.is_mla else m.head_dim)
    inter = m.moe_intermediate if m.is_moe and not m.first_dense_layers else m.intermediate
    return {
        "q": (m.hidden, q_out), "k": (m.hidden, kv_out), "v": (m.hidden, kv_out),
        "o": (o_in, m.hidden), "gate": (m.hidden, inter), "up": (m.hidden, inter),
        "down": (inter, m.hidden),
    }


def lora_params(job: Job) -> int:
    """Trainable LoRA parameters: r x (in + out) per targeted module per layer.

    For MoE models the MLP targets are counted once per expert (PEFT wraps every expert's linear).
    Plain (2-matrix) MLPs have no 'gate'.
    """
    if not job.lora_modules:
        return 0
    shapes = lora_module_shapes(job)
    m = job.model
    per_layer = 0
    for name in job.lora_modules:
        if name == "gate" and m.mlp == "plain":
            continue
        fan_in, fan_out = shapes[name]
        copies = m.num_experts if (m.is_moe and name in ("gate", "up", "down")) else 1
        per_layer += copies * job.req.lora_r * (fan_in + fan_out)
    return per_layer * m.layers


def embedding_copy_params(job: Job) -> int:
    """(Q)LoRA with train_embeddings: PEFT's trainable copies of embeddings and lm_head."""
    if job.workload == "full" or not job.req.train_embeddings:
        return 0
    split = param_split(job.model)
    return split.embedding + split.lm_head


def trainable_params(job: Job) -> int:
    """Parameters that receive gradients (all for full fine-tuning, adapters for (Q)LoRA)."""
    if job.workload == "full":
        return param_split(job.model).total
    return lora_params(job) + embedding_copy_params(job)


def paged(job: Job) -> bool:
    """Paged optimizers keep states in CUDA unified memory, evicted to host under pressure."""
    return job.req.optimizer.startswith("paged")


def _shard(job: Job) -> int:
    """Tensor x pipeline split of the trainable parameters on one GPU."""
    return job.req.tensor_parallel * job.req.pipeline_parallel


DS_SUB_GROUP = 1e9
"""DeepSpeed ``zero_optimization.sub_group_size`` default, 1e9 elements
(deepspeed/runtime/zero/config.py ZERO_OPTIMIZATION sub_group_size, v0.10-0.16)."""


def gradients_bytes(job: Job) -> float:
    """Gradient bytes per GPU (16/32-bit grads, plus DeepSpeed's fp32 partition in ds-mixed)."""
    if not job.training:
        return 0.0
    if job.workload != "full":
        adapters = lora_params(job) * adapter_bytes_per_param(job) + embedding_copy_params(job) * job.dtype_bytes
        if job.req.zero_stage > 0 and job.req.offload == "none":
            # ZeRO's fp32 gradient partition of the trainable parameters, formed at the step
            # (stage_1_and_2.py ``_optimizer_step``: single_partition_of_fp32_groups[i].grad)
            adapters += trainable_params(job) * 4.0 / (job.shard if job.req.zero_stage >= 2 else 1)
        return adapters / _shard(job) + zero_buffer_bytes(job)
    n = trainable_params(job) / _shard(job)
    mode = precision_mode(job)
    if job.req.optimizer_in_backward or job.req.offload == "optimizer+params":
        # stepped during backward (torchtune) or streamed to host (parameter offload):
        # only ~2 layers of gradients are on the GPU at once
        return 2 * n / job.model.layers * {"amp": 4.0, "ds-mixed": 2.0, "pure16": 2.0}[mode]
    grad = {"amp": 4.0, "ds-mixed": 2.0, "pure16": 2.0}[mode]
    stage, dp = job.req.zero_stage, job.shard
    total = n * grad / (dp if stage >= 2 else 1)
    if mode == "ds-mixed" and job.req.offload == "none":
        if stage == 3:
            # stage 3 upcasts gradients to fp32 one sub-group (sub_group_size, 1e9) at a time
            total += min(n / dp, DS_SUB_GROUP) * 4.0
        else:
            total += n * 4.0 / (dp if stage >= 1 else 1)
    return total + zero_buffer_bytes(job)


def optimizer_bytes(job: Job) -> float:
    """Optimizer-state bytes per GPU (incl. the fp32 master copy in ds-mixed); 0 when offloaded."""
    if not job.training or job.req.offload != "none" or paged(job):
        return 0.0
    n = trainable_params(job) / _shard(job)
    per = _optimizer_bytes_per_param(job)
    if job.workload != "full" and job.req.zero_stage > 0:
        per += 4.0  # the ZeRO optimizer's fp32 master copy of the (16-bit) adapters
    return n * per / (job.shard if job.req.zero_stage >= 1 else 1)


def adapter_bytes_per_param(job: Job) -> float:
    """Bytes of one LoRA adapter parameter (and of its gradient).

    PEFT creates adapters in fp32 (``autocast_adapter_dtype=True``, huggingface/peft
    src/peft/tuners/tuners_utils.py, v0.12+); DeepSpeed's engine then casts the whole module,
    adapters included, to the 16-bit training dtype (``weights.deepspeed_casts_module``).
    """
    return float(job.compute_bytes) if deepspeed_casts_module(job) else 4.0


def adapter_weight_bytes(job: Job) -> float:
    """The LoRA adapters' own weights on one GPU (ZeRO-3 shards them like every parameter)."""
    if job.workload not in ("lora", "qlora"):
        return 0.0
    n = lora_params(job) * adapter_bytes_per_param(job) / _shard(job)
    return n / (job.shard if job.req.zero_stage == 3 else 1)


def _optimizer_bytes_per_param(job: Job) -> float:
    opt = job.req.optimizer
    if opt == "adafactor":
        m = job.model
        return 4.0 * (1.0 / m.hidden + 1.0 / m.intermediate)
    per = OPTIMIZER_STATE_BYTES[opt]
    if job.workload == "full":
        mode = precision_mode(job)
        if mode == "pure16" and opt in ("adamw", "paged-adamw", "sgd-momentum"):
            per /= 2
        if mode == "ds-mixed":
            per += 4.0
    return per


def _offloaded_state_bytes(job: Job) -> float:
    """Bytes moved off the GPU: fp32 master + optimizer + fp32 grads (+16-bit params)."""
    if not job.training:
        return 0.0
    if paged(job) and job.req.offload == "none":
        return trainable_params(job) * _optimizer_bytes_per_param(job)
    if job.req.offload == "none":
        return 0.0
    n = trainable_params(job)
    per = _optimizer_bytes_per_param(job) + (4.0 if job.workload == "full" else 0.0)
    if job.workload == "full" and precision_mode(job) != "ds-mixed":
        per += 4.0  # CPU Adam keeps an fp32 master copy
    total = n * per
    if job.req.offload == "optimizer+params":
        total += param_split(job.model).total * job.dtype_bytes
    return total


NVME_STAGING_BYTES = 4 * 1024**3
"""Pinned host buffers of ZeRO-Infinity NVMe offload: offload_param buffer_count 5 x
buffer_size 1e8 (16-bit) + offload_optimizer buffer_count 4 x the swapped sub-group, rounded up
(DeepSpeed docs config-json 'offload_param' / 'offload_optimizer', v0.10-0.16); single-source."""


def offloaded_host_bytes(job: Job) -> float:
    """Host RAM for offloaded (or paged) states; with NVMe offload only pinned staging buffers."""
    state = _offloaded_state_bytes(job)
    if state and job.req.offload_device == "nvme" and job.req.offload != "none":
        return float(min(state, NVME_STAGING_BYTES))
    return state


def offloaded_disk_bytes(job: Job) -> float:
    """NVMe bytes for ZeRO-Infinity offload (0 for CPU offload)."""
    if job.req.offload_device != "nvme" or job.req.offload == "none":
        return 0.0
    return _offloaded_state_bytes(job)


def zero_buffer_bytes(job: Job) -> float:
    """Communication buffers of ZeRO stages 1-3, with the HF Trainer / accelerate "auto" sizes:
    reduce bucket hidden^2 elements (double-buffered with overlap_comm), stage-1/2 all-gather
    bucket of the same size, stage-3 prefetch bucket 0.9 hidden^2, all 16-bit and capped by the
    trainable parameters per GPU. Hand-written DeepSpeed configs often keep the library defaults
    (5e8-element buckets, https://www.deepspeed.ai/docs/config-json/), which cost ~2-3 GiB more.
    """
    stage = job.req.zero_stage
    if not job.training or stage == 0:
        return 0.0
    n = trainable_params(job) / _shard(job)
    h2 = float(job.model.hidden ** 2)
    if job.req.zero_bucket_size is not None and stage in (1, 2):
        # a configured reduce_bucket_size: ZeRO-1/2 ``backward`` allocates two buffers of exactly
        # that many elements (contiguous_gradients + overlap_comm), whatever the trainable count
        # (microsoft/DeepSpeed deepspeed/runtime/zero/stage_1_and_2.py v0.12: ``torch.empty(int(
        # self.reduce_bucket_size), dtype=self.dtype)``)
        return 2 * float(job.req.zero_bucket_size) * job.compute_bytes
    bucket = min(n, h2)
    second = bucket if stage in (1, 2) else min(n, 0.9 * h2)
    return (2 * bucket + second) * 2


def zero3_weight_bytes(job: Job) -> float:
    """Resident weights per GPU under ZeRO-3 / FSDP full-shard (or parameter offload).

    Each GPU keeps 1/dp of the parameters (none with parameter offload: the shards live on the
    host) plus the units gathered for compute: the one being computed and the one prefetched
    (FSDP backward_prefetch / ZeRO-3 prefetch). A unit is a decoder layer, or for torchtune the
    embedding / output when they are sharded as units of their own (then the largest pair is the
    output unit with the last layer); litgpt's FSDP root unit
    (embedding, final norm, lm_head) stays unsharded from forward to backward
    (``data/frameworks.toml`` [fsdp_units]).
    """
    from .frameworks import framework_data

    full = weights_bytes_per_gpu(job)
    m = job.model
    split = param_split(m)
    per = full / max(1, split.total)
    layer = (split.linear + split.norms) / max(1, m.layers) * per
    ends = (split.embedding + split.lm_head) * per
    units = framework_data()["fsdp_units"].get(job.engine, {})
    if job.engine == "torchtune":
        # the gathered pair at its largest: two layers, or the output unit with the last layer
        live = max(2 * layer, layer + m.vocab * m.hidden * per)
    else:
        live = 2 * layer
    if units.get("root_resident"):
        live += ends
    if job.req.offload == "optimizer+params":
        return live
    return full / job.shard + live
