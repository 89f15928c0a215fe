"""Framework code paths (``data/frameworks.toml``): loss/logits bytes, optimizer-step kernels,
and which switches each engine supports (attention paths and ALiBi models: ``attention.py``).

Every value in the data file names the framework file and version it was read from.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .errors import InvalidRequestError
from .resolve import Job

FP32 = 4.0


@dataclass(frozen=True)
class LossPath:
    """Bytes per logit element at the three moments of a step where the logits are alive."""

    id: str
    name: str
    forward: float
    loss: float
    backward: float
    source: str
    hidden_buffer: float = 0.0


@cache
def framework_data() -> dict[str, Any]:
    """The parsed data file (loaded once)."""
    with resources.files("tools.estimator").joinpath("data", "frameworks.toml").open("rb") as f:
        return tomllib.load(f)


def _paths() -> dict[str, LossPath]:
    return {p["id"]: LossPath(**p) for p in framework_data()["loss_path"]}


def loss_choice(job: Job) -> str:
    """The loss implementation: the request's, or the engine's default ('standard', 'chunked',
    'fused-linear'). Raises a one-line error for a combination the engine does not have."""
    table = framework_data()["engine_loss"]
    engine = job.engine if job.engine in table else "hf"
    entry = table[engine]
    choice = job.req.loss if job.req.loss != "auto" else entry["default"]
    if choice not in entry["supported"]:
        raise InvalidRequestError(
            "loss", job.req.loss, f"{job.engine} supports loss = auto, {', '.join(entry['supported'])}")
    return str(choice)


def loss_path(job: Job) -> LossPath:
    """The loss path a training job takes (see ``data/frameworks.toml``)."""
    paths = _paths()
    choice = loss_choice(job)
    if choice == "fused-linear":
        return paths["fused-linear"]
    if choice == "chunked":
        return paths["torchtune-chunked" if job.engine == "torchtune" else "litgpt-chunked"]
    if job.model.family in framework_data()["no_upcast_families"]:
        return paths["hf-no-upcast" if autocast(job) else "hf-no-upcast-pure16"]
    return paths["hf"]


def autocast(job: Job) -> bool:
    """HF Trainer with --bf16/--fp16 runs forward under torch.autocast (accelerate native AMP);
    with DeepSpeed the engine casts the model instead and no autocast context is entered."""
    return job.engine == "hf" and job.req.zero_stage == 0


def optimizer_impl(job: Job) -> tuple[str, str]:
    """(implementation, source) of the optimizer step: 'foreach', 'fused' or 'per-tensor'.

    bitsandbytes 8-bit/paged optimizers are fused CUDA kernels; DeepSpeed ZeRO steps with its
    FusedAdam; optimizer-in-backward steps one parameter at a time.
    """
    if job.req.optimizer_impl != "auto":
        return job.req.optimizer_impl, "set in the request"
    if job.req.optimizer in ("adamw-8bit", "paged-adamw-8bit", "paged-adamw"):
        return "fused", "bitsandbytes bitsandbytes/optim/optimizer.py (Optimizer8bit/32bit: fused CUDA update)"
    if job.req.optimizer == "adafactor":
        return "per-tensor", "transformers src/transformers/optimization.py Adafactor.step (loop over parameters)"
    if job.req.optimizer_in_backward:
        return "per-tensor", "torchtune optimizer_in_bwd: one parameter's step inside its gradient hook"
    table = framework_data()["engine_optimizer_impl"]
    engine = "deepspeed" if (job.req.zero_stage or job.engine == "deepspeed") else job.engine
    entry = table.get(engine, table["hf"])
    return str(entry["impl"]), str(entry["source"])


def check_switches(job: Job) -> None:
    """Reject switches the engine does not implement (one-line errors naming what is supported)."""
    if not job.training:
        return
    loss_choice(job)
    if job.req.activation_offload and job.engine != "torchtune":
        raise InvalidRequestError(
            "activation_offload", True,
            f"activation offloading is modelled for engine=torchtune (enable_activation_offloading), not {job.engine}")
    if job.req.activation_offload and not job.req.grad_ckpt:
        raise InvalidRequestError(
            "activation_offload", True, "torchtune offloads checkpointed activations: needs grad_ckpt=True")
    if job.req.tensor_parallel > 1 and job.engine not in framework_data()["tp_placement"]:
        raise InvalidRequestError(
            "tensor_parallel", job.req.tensor_parallel,
            f"{job.engine} fine-tunes without tensor parallelism (FSDP / data parallel); "
            f"tensor parallel training is modelled for {', '.join(k for k in framework_data()['tp_placement'] if k in ('hf', 'deepspeed', 'torchtune'))}")
    if job.req.optimizer_impl == "fused" and job.req.optimizer in ("sgd",):
        raise InvalidRequestError("optimizer_impl", "fused", "fused steps exist for adamw and sgd-momentum")
