"""The timeline of one training step: the peak is the maximum over its phases, not a sum.

Phases, each with what is alive on the most loaded GPU:

- ``load``: the weights as stored, plus the staging of the load (bitsandbytes quantizes on load:
  each linear arrives in 16 bits and is quantized on the GPU, transformers
  src/transformers/quantizers/quantizer_bnb_4bit.py ``create_quantized_param``; PEFT's fp32 cast
  ``param.data = param.data.to(torch.float32)`` keeps the 16-bit embedding alive while its fp32
  copy is made);
- ``forward``: weights + optimizer states (steady state after the first step) + gradients that
  persist (gradient accumulation, DeepSpeed's flat buffers) + saved activations + the layer being
  computed;
- ``loss``: the same with the logits at the loss path's bytes per logit instead of the layer;
- ``backward``: the maximum of its start (logits gradients, all activations still saved), the
  first recomputed layer, and its end (every gradient formed, activations freed);
- ``optimizer``: weights + gradients + states + the step's temporaries: torch's foreach AdamW
  allocates ``exp_avg_sq_sqrt = torch._foreach_sqrt(device_exp_avg_sqs)``, one state-sized
  tensor per device/dtype group (torch/optim/adamw.py ``_multi_tensor_adamw``, torch 2.2-2.5);
  fused kernels, bitsandbytes optimizers and optimizer-in-backward allocate none.

Activations and full-size optimizer temporaries never coexist, so a full fine-tune of a small
model can be bound by the optimizer step while a long-context LoRA is bound by the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from .activations import (
    activation_bytes,
    alibi_bytes,
    kept_per_layer_bytes,
    logits_elements,
    saved_activation_bytes,
    working_bytes,
)
from .frameworks import LossPath, loss_path, optimizer_impl
from .params import param_split
from .resolve import Job
from .training import (
    DS_SUB_GROUP,
    embedding_copy_params,
    gradients_bytes,
    lora_params,
    optimizer_bytes,
    paged,
    trainable_params,
)
from .weights import kbit_prepared, precision_mode

PHASES = ("load", "forward", "loss", "backward", "optimizer")
BNB_ON_LOAD = frozenset({"nf4", "fp4", "int8"})


@dataclass(frozen=True)
class PhaseBytes:
    """Bytes alive at one phase, by term."""

    weights: float = 0.0
    gradients: float = 0.0
    optimizer: float = 0.0
    activations: float = 0.0
    logits: float = 0.0
    temporaries: float = 0.0

    @property
    def total(self) -> float:
        """All terms together."""
        return (self.weights + self.gradients + self.optimizer + self.activations + self.logits
                + self.temporaries)


def persistent_gradients(job: Job) -> bool:
    """Gradients alive through forward: gradient accumulation keeps them between micro-batches;
    DeepSpeed allocates flat gradient partitions once (deepspeed/runtime/zero/stage_1_and_2.py).
    Otherwise HF Trainer's ``model.zero_grad()`` (set_to_none=True, torch >= 2.0) frees them."""
    return job.req.grad_accum > 1 or job.req.zero_stage > 0 or job.engine == "deepspeed"


def staging_bytes(job: Job) -> float:
    """Transient bytes of loading: the largest 16-bit tensor being quantized or upcast."""
    m = job.model
    staged = 0.0
    if job.quant in BNB_ON_LOAD and job.engine in ("hf", "deepspeed"):
        staged = max(m.hidden * m.intermediate, m.hidden * m.heads * m.head_dim) * 2.0
    if kbit_prepared(job):
        staged = max(staged, m.vocab * m.hidden * 2.0)
    return staged / job.req.tensor_parallel


def head_autocast_copy(job: Job) -> float:
    """Under k-bit preparation the lm_head is fp32; autocast casts it to 16 bits for the matmul and
    autograd keeps the cast until backward (torch autocast: linear runs in the lower precision)."""
    if not kbit_prepared(job):
        return 0.0
    return job.model.vocab * job.model.hidden * 2.0 / job.req.tensor_parallel


def _state_bytes_per_param(job: Job) -> float:
    """Bytes of one optimizer-state element (exp_avg_sq has the parameter's dtype)."""
    if job.workload != "full":
        return 4.0  # PEFT adapters are fp32
    return 4.0 if precision_mode(job) == "amp" else float(job.dtype_bytes)


def step_temporary_bytes(job: Job) -> tuple[float, str, str]:
    """(bytes, implementation, source) of the optimizer step's temporaries on one GPU."""
    impl, source = optimizer_impl(job)
    if job.req.offload != "none" or paged(job) or job.req.optimizer in ("sgd", "sgd-momentum"):
        return 0.0, impl, source
    if job.req.zero_stage == 3 and job.workload == "full" and precision_mode(job) == "ds-mixed":
        # ZeRO-3 steps one sub-group at a time: ``self.flatten(self.averaged_gradients[i])`` makes a
        # 16-bit flat copy of the sub-group's gradients while its fp32 copy is formed
        # (microsoft/DeepSpeed deepspeed/runtime/zero/stage3.py v0.12 ``_prepare_fp32_grad_for_sub_group``)
        n = trainable_params(job) / (job.req.tensor_parallel * job.req.pipeline_parallel) / job.shard
        return min(n, DS_SUB_GROUP) * float(job.compute_bytes), impl, source
    if impl == "fused":
        return 0.0, impl, source
    shard = job.req.tensor_parallel * job.req.pipeline_parallel
    zero = job.shard if job.req.zero_stage >= 1 else 1
    per = _state_bytes_per_param(job)
    if impl == "per-tensor":
        m = job.model
        largest = max(m.vocab * m.hidden, m.hidden * m.intermediate) if job.workload == "full" else 0
        return largest * per / shard, impl, source
    if job.workload == "full":
        groups = [trainable_params(job) * per]
    else:
        groups = [lora_params(job) * 4.0, embedding_copy_params(job) * float(job.dtype_bytes)]
    return max(groups) / shard / zero, impl, source


def _fused_linear_buffer(job: Job, path: LossPath) -> float:
    return job.batch * job.seq_len * job.model.hidden * path.hidden_buffer


def training_phases(job: Job, weights: float) -> dict[str, PhaseBytes]:
    """Bytes per phase on the most loaded GPU (the heavier pipeline stage)."""
    grads = gradients_bytes(job)
    opt = optimizer_bytes(job)
    g_keep = grads if persistent_gradients(job) else 0.0
    path = loss_path(job)
    logits = logits_elements(job)
    work = working_bytes(job)
    fixed = alibi_bytes(job) + head_autocast_copy(job)
    step_tmp, _, _ = step_temporary_bytes(job)

    def stage(saved: float, with_logits: bool) -> dict[str, PhaseBytes]:
        base = {"weights": weights, "optimizer": opt}
        lg = (lambda b: logits * b) if with_logits else (lambda b: 0.0)
        buf = _fused_linear_buffer(job, path) if with_logits else 0.0
        start = PhaseBytes(**base, gradients=g_keep, activations=saved + fixed,
                           logits=lg(path.backward))
        recompute = PhaseBytes(**base, gradients=g_keep, activations=saved + fixed + work)
        first_layer = kept_per_layer_bytes(job) if job.req.grad_ckpt else 0.0
        end = PhaseBytes(**base, gradients=grads, activations=first_layer + work)
        backward = max((start, recompute, end), key=lambda p: p.total)
        return {
            "load": PhaseBytes(weights=weights, temporaries=staging_bytes(job)),
            "forward": PhaseBytes(**base, gradients=g_keep, activations=saved + fixed + work),
            "loss": PhaseBytes(**base, gradients=g_keep, activations=saved + fixed,
                               logits=lg(path.loss), temporaries=buf),
            "backward": backward,
            "optimizer": PhaseBytes(weights=weights, gradients=grads, optimizer=opt,
                                    temporaries=step_tmp),
        }

    last = stage(saved_activation_bytes(job), with_logits=True)
    pp = job.req.pipeline_parallel
    if pp == 1:
        return last
    first = stage(saved_activation_bytes(job, microbatches=pp), with_logits=False)
    return max((first, last), key=lambda s: max(p.total for p in s.values()))


def peak_phase(phases: dict[str, PhaseBytes]) -> str:
    """The phase with the most bytes alive (the first of equals, in step order)."""
    return max(PHASES, key=lambda name: phases[name].total)


def bytes_per_logit(job: Job) -> float:
    """Bytes per logit element at the loss path's heaviest moment (shown in the breakdown)."""
    path = loss_path(job)
    return max(path.loss, path.backward)


__all__ = ["PHASES", "PhaseBytes", "bytes_per_logit", "peak_phase", "training_phases",
           "activation_bytes", "param_split"]
