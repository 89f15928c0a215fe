"""Frozen, validated records for the two catalogs: model architectures and GPUs.

Units are in the field names. Parameter counts are derived from the architecture (see
``params.py``) and checked in the tests against the published count in ``params_b``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

GIB = 1024**3


class ModelSpec(BaseModel):
    """A transformer decoder's shape: what the memory formulas need, with its source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    hf_id: str = ""
    aliases: tuple[str, ...] = ()
    family: str = ""
    params_b: float = Field(gt=0, description="published total parameters, billions")
    active_params_b: float = Field(default=0.0, ge=0, description="MoE: parameters used per token")
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    intermediate: int = Field(gt=0, description="dense MLP width (dense layers)")
    vocab: int = Field(gt=0)
    tied_embeddings: bool = False
    mlp: Literal["gated", "plain"] = "gated"
    qkv_bias: bool = False
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    max_position: int = 4096
    native_dtype: str = "bf16"
    native_quant: str = ""
    # mixture of experts
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate: int = 0
    shared_experts: int = 0
    shared_expert_intermediate: int = 0
    first_dense_layers: int = 0
    # multi-head latent attention (DeepSeek V2/V3)
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0
    v_head_dim: int = 0
    # local attention: every layer not in the global set uses a window of this many tokens
    sliding_window: int = 0
    global_layer_every: int = 0
    # attention-probability dropout in training (config attention_dropout / attn_pdrop); 0 for
    # every catalog model's released config
    attention_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    # vision tower or other parameters outside the decoder stack (billions), loaded but not in KV
    extra_params_b: float = 0.0
    synthetic: bool = False
    source: str = ""
    notes: str = ""

    @model_validator(mode="after")
    def _check_shape(self) -> ModelSpec:
        if self.heads % self.kv_heads:
            raise ValueError(f"{self.id}: heads {self.heads} not a multiple of kv_heads {self.kv_heads}")
        if self.num_experts and not (self.experts_per_token and self.moe_intermediate):
            raise ValueError(f"{self.id}: MoE needs experts_per_token and moe_intermediate")
        return self

    @property
    def is_moe(self) -> bool:
        """True for mixture-of-experts models."""
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        """True for multi-head latent attention (compressed KV cache)."""
        return self.kv_lora_rank > 0

    @property
    def moe_layers(self) -> int:
        """Number of layers whose MLP is a mixture of experts."""
        return self.layers - self.first_dense_layers if self.is_moe else 0

    @property
    def global_layers(self) -> int:
        """Layers that attend over the whole context (the rest use the sliding window)."""
        if not self.sliding_window:
            return self.layers
        if not self.global_layer_every:
            return 0
        return self.layers // self.global_layer_every


class GpuSpec(BaseModel):
    """An accelerator from ``data/gpus.toml``.

    A throughput field is 0 where the catalog has no sourced figure (e.g. Tesla P40, L20): such a
    card is memory-only for that speed; ``perf.speed`` then states what it could not estimate.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    vendor: str
    arch: str = ""
    compute_capability: str = ""
    memory_gib: float = Field(gt=0)
    usable_gib: float = Field(gt=0)
    usable_basis: str = ""
    memory_type: str = ""
    memory_bandwidth_gbs: float = 0.0
    bf16_dense_tflops: float = 0.0
    fp16_dense_tflops: float = 0.0
    fp8_dense_tflops: float = 0.0
    supports_bf16: bool = True
    flash_attention2: bool = True
    nvlink: bool = False
    interconnect: str = ""
    tdp_w: float = 0.0
    form_factor: str = ""
    source_url: str = ""
    notes: str = ""

    @property
    def usable_bytes(self) -> int:
        """Bytes the framework can allocate on one card."""
        return int(self.usable_gib * GIB)

    @property
    def has_compute(self) -> bool:
        """A sourced dense 16-bit TFLOPS figure exists (training and prefill speed need it)."""
        return (self.bf16_dense_tflops or self.fp16_dense_tflops) > 0

    @property
    def has_bandwidth(self) -> bool:
        """A sourced memory bandwidth exists (decode speed needs it)."""
        return self.memory_bandwidth_gbs > 0

    @property
    def supports_fp8(self) -> bool:
        """Native FP8 tensor cores (Ada, Hopper, Blackwell, MI300)."""
        return self.fp8_dense_tflops > 0
