"""Parameter counts derived from a model's shape.

Counts are exact for the usual decoder layout (embeddings, attention, MLP or MoE, norms, lm_head)
and are checked against each catalog entry's published count in the tests. All results are
numbers of parameters (not bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from .specs import ModelSpec


@dataclass(frozen=True)
class ParamSplit:
    """Where a model's parameters sit; quantization treats these groups differently."""

    embedding: int
    lm_head: int
    attention: int
    mlp_dense: int
    experts: int
    router_and_shared: int
    norms: int
    extra: int

    @property
    def linear(self) -> int:
        """Parameters in the decoder's linear layers (what weight-only quantizers convert)."""
        return self.attention + self.mlp_dense + self.experts + self.router_and_shared

    @property
    def total(self) -> int:
        """All parameters, tied embeddings counted once."""
        return (
            self.embedding + self.lm_head + self.linear + self.norms + self.extra
        )


def attention_params(m: ModelSpec) -> int:
    """Parameters of one attention block: q/k/v/o projections (GQA or MLA) and biases."""
    h = m.hidden
    if m.is_mla:
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            q = h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * m.heads * qk_head
        else:
            q = h * m.heads * qk_head
        kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
        kv += m.kv_lora_rank * m.heads * (m.qk_nope_head_dim + m.v_head_dim)
        o = m.heads * m.v_head_dim * h
        return q + kv + o
    q = h * m.heads * m.head_dim
    kv = 2 * h * m.kv_heads * m.head_dim
    o = m.heads * m.head_dim * h
    bias = (m.heads + 2 * m.kv_heads) * m.head_dim if m.qkv_bias else 0
    return q + kv + o + bias


def mlp_params(hidden: int, intermediate: int, gated: bool) -> int:
    """One MLP: gate/up/down (3 matrices) when gated (SwiGLU, GeGLU), else up/down."""
    return (3 if gated else 2) * hidden * intermediate


def param_split(m: ModelSpec, active_only: bool = False) -> ParamSplit:
    """Split the parameters by role. ``active_only`` counts only the experts a token uses."""
    gated = m.mlp == "gated"
    attention = m.layers * attention_params(m)
    dense_layers = m.layers - m.moe_layers
    mlp_dense = dense_layers * mlp_params(m.hidden, m.intermediate, gated)
    experts = router = 0
    if m.is_moe:
        n = m.experts_per_token if active_only else m.num_experts
        experts = m.moe_layers * n * mlp_params(m.hidden, m.moe_intermediate, gated)
        shared_i = m.shared_expert_intermediate or m.shared_experts * m.moe_intermediate
        router = m.moe_layers * (m.hidden * m.num_experts + mlp_params(m.hidden, shared_i, gated))
    norm_width = 2 if m.norm == "layernorm" else 1
    norms = (m.layers * 2 + 1) * m.hidden * norm_width
    embedding = m.vocab * m.hidden
    lm_head = 0 if m.tied_embeddings else m.vocab * m.hidden
    return ParamSplit(
        embedding=embedding,
        lm_head=lm_head,
        attention=attention,
        mlp_dense=mlp_dense,
        experts=experts,
        router_and_shared=router,
        norms=norms,
        extra=int(m.extra_params_b * 1e9),
    )


def total_params(m: ModelSpec) -> int:
    """Total parameters of the model (as stored in its checkpoint)."""
    return param_split(m).total


def active_params(m: ModelSpec) -> int:
    """Parameters touched per token (MoE: routed experts only); equals the total for dense models."""
    return param_split(m, active_only=True).total
