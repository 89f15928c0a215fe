"""The understood question: :class:`Ask`, what is still missing, and follow-up merging.

``Ask`` holds only what the user said (``None`` = not said); defaults are the estimator's and
are listed in its assumptions. A follow-up ("what about two of them?", "and with 8k context?")
keeps what the conversation already established and overrides what the new message says.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

Intent = Literal["fit", "number", "plan", "explain"]
Kind = Literal["fit", "why", "concept", "delta", "compare", "capacity", "plan", "other"]
Target = Literal["total", "kv_cache", "weights", "activations", "optimizer", "gradients",
                 "max_batch", "max_seq", "users"]
TRAINING = ("full", "lora", "qlora")

# fields that a follow-up inherits when the new message does not set them
_SETTINGS = ("quant", "weight_dtype", "kv_cache_dtype", "seq_len", "batch_size", "users",
             "zero_stage", "tensor_parallel", "offload", "optimizer", "engine", "grad_ckpt",
             "flash_attn", "lora_r")


class Ask(BaseModel):
    """What the user asked, as far as the deterministic parser understood it."""

    intent: Intent | None = None
    target: Target | None = None
    model: str | None = None
    model_name: str | None = None
    family: str | None = None
    workloads: list[str] = []
    quant: str | None = None
    weight_dtype: str | None = None
    kv_cache_dtype: str | None = None
    gpu: str | None = None
    gpu_name: str | None = None
    gpu_memory_gb: float | None = None
    gpu_local: bool = False
    num_gpus: int | None = None
    seq_len: int | None = None
    batch_size: int | None = None
    users: int | None = None
    zero_stage: int | None = None
    tensor_parallel: int | None = None
    offload: str | None = None
    optimizer: str | None = None
    engine: str | None = None
    grad_ckpt: bool | None = None
    flash_attn: bool | None = None
    lora_r: int | None = None
    lang: str = "en"
    query: str = ""
    followup: bool = False
    # what kind of question, and what else the words said (see assistant.kinds)
    kind: Kind | None = None
    models: list[str] = []
    gpus: list[str] = []
    quants: list[str] = []
    seq_values: list[int] = []
    rank_values: list[int] = []
    zero_values: list[int] = []
    negated: dict[str, str] = {}
    evidence: dict[str, str] = {}
    ruled_out: list[str] = []
    bare_size: bool = False
    resolved_note: str = ""
    unresolved_model: str = ""
    unresolved_gpu: str = ""
    nearest: list[str] = []
    paste: str = ""
    gpu_pick: str = ""
    correction: bool = False

    @property
    def has_model(self) -> bool:
        return self.model is not None

    @property
    def has_gpu(self) -> bool:
        return self.gpu is not None or self.gpu_memory_gb is not None or self.gpu_local

    def has_settings(self) -> bool:
        """True when the user gave anything beyond model, GPU, count and sequence length."""
        return any(getattr(self, f) is not None for f in _SETTINGS if f != "seq_len")

    def considered(self) -> list[str]:
        """The workloads this question is about (inference when nothing was said)."""
        if self.workloads:
            return list(self.workloads)
        if self.users is not None:
            return ["serve"]
        return ["inference"]

    def missing(self) -> list[str]:
        """Essentials still unknown: ``model`` or ``model_size`` and ``gpu``."""
        if self.intent == "explain" or self.intent is None:
            return []
        out = []
        if self.unresolved_model:
            return ["model"]
        if self.unresolved_gpu:
            return ["gpu"]
        if not self.has_model and not (self.intent == "plan" and self.has_gpu and not self.family):
            out.append("model_size" if self.family else "model")
        if self.intent == "fit" and not self.has_gpu:
            out.append("gpu")
        return out

    def goal(self) -> str:
        """The planner's goal for the workloads asked about."""
        workloads = set(self.considered())
        if workloads & set(TRAINING):
            return "pre-train" if re.search(r"pre-?train|from scratch|预训练", self.query.lower()) \
                else "fine-tune"
        return "serve" if "serve" in workloads else "inference"

    def mentions(self) -> bool:
        """True when the message said anything a follow-up could use."""
        return self.has_model or self.has_gpu or self.num_gpus is not None or bool(
            self.workloads) or any(getattr(self, f) is not None for f in _SETTINGS)


def merge(prev: Ask | None, new: Ask) -> Ask:
    """``new`` completed from ``prev``: essentials always, settings only for follow-ups."""
    if prev is not None and new.kind in ("why", "delta", "compare", "capacity") and \
            not new.has_model and not new.unresolved_model and prev.has_model:
        return _carry_subject(prev, new)
    if prev is None or new.intent == "explain" or prev.intent in (None, "explain"):
        return new if new.intent else new.model_copy(update={"intent": "explain"})
    fresh = new.has_model and new.has_gpu and not new.followup
    if fresh:
        return new
    if new.gpu_local and new.gpu is None and new.gpu_memory_gb is None and prev.has_gpu and \
            not new.has_model:
        # "flash-attn is disabled on this box" after a named GPU: the box already discussed
        new = new.model_copy(update={"gpu_local": False})
    update = _essentials(prev, new)
    # a message that names neither a model nor a method continues the previous subject
    # ("would a 4060 ti 16gb do?" after "QLoRA Gemma 2 9B, what's the smallest GPU?")
    followup = new.followup or new.intent is None or bool(prev.missing()) or (
        not new.has_model and not new.workloads and not new.unresolved_model)
    if followup:
        _follow_settings(prev, new, update)
    return new.model_copy(update=update)


def _carry_subject(prev: Ask, new: Ask) -> Ask:
    """"and at 128k, how much each?" after a comparison: the same models, the new setting."""
    carry: dict[str, object] = {
        "model": prev.model, "model_name": prev.model_name, "models": prev.models,
        "bare_size": prev.bare_size, "workloads": new.workloads or prev.workloads}
    if not new.has_gpu and not new.unresolved_gpu:
        carry.update(gpu=prev.gpu, gpu_name=prev.gpu_name, gpus=prev.gpus,
                     gpu_memory_gb=prev.gpu_memory_gb, num_gpus=new.num_gpus or prev.num_gpus,
                     paste=prev.paste)
    for f in _SETTINGS:
        if getattr(new, f) is None:
            carry.setdefault(f, getattr(prev, f))
    if new.intent in (None, "explain"):
        carry["intent"] = "number"
    return new.model_copy(update=carry)


def _essentials(prev: Ask, new: Ask) -> dict[str, object]:
    """Intent, model and GPU the follow-up did not restate."""
    update: dict[str, object] = {}
    if new.intent is None:
        update["intent"] = prev.intent
        update["target"] = prev.target
    if not new.has_model and not new.unresolved_model:  # a new name we do not know is asked about
        update.update(model=prev.model, model_name=prev.model_name, family=new.family or prev.family)
    if not new.has_gpu and not new.unresolved_gpu:
        update.update(gpu=prev.gpu, gpu_name=prev.gpu_name, gpu_memory_gb=prev.gpu_memory_gb,
                      gpu_local=prev.gpu_local, gpus=prev.gpus)
        if not new.paste:
            update.update(paste=prev.paste, gpu_pick=new.gpu_pick or prev.gpu_pick)
        if new.num_gpus is None:
            update["num_gpus"] = prev.num_gpus
    if new.unresolved_model or new.has_model:
        update.setdefault("bare_size", new.bare_size)
    else:
        update.update(bare_size=prev.bare_size, resolved_note=prev.resolved_note)
    return update


def _follow_settings(prev: Ask, new: Ask, update: dict[str, object]) -> None:
    """Settings, workloads and kind a follow-up inherits."""
    if not new.workloads:
        update["workloads"] = prev.workloads
    for f in _SETTINGS:
        if getattr(new, f) is None:
            update[f] = getattr(prev, f)
    if new.kind in (None, "fit") and prev.kind in ("capacity", "fit") and new.intent is None:
        update["kind"] = prev.kind
    if new.workloads and new.workloads != prev.workloads and new.quant is None:
        update["quant"] = None  # "and for QLoRA?" must not keep the previous 4-bit choice
