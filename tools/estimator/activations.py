"""Activation memory: what autograd saves in training, and the transient peak in inference.

Training, per layer and token, the tensors a Llama-style block saves for backward (elements):
  4h                      block input, attention-norm output, residual, MLP-norm output
  q + k + v + o widths    FlashAttention/SDPA keep q, k, v and the attention output
  4I (gated) / 2I (plain) gate and up projections, activation output, their product
  + heads x s x 3         eager attention only: fp32 softmax + 16-bit probabilities
                          (the s^2 term FlashAttention removes, https://arxiv.org/abs/2205.14135)
Tensor parallelism splits the attention and MLP parts (https://arxiv.org/abs/2205.05198).
With full activation checkpointing only each layer's input (h per token) is kept and one layer is
recomputed during backward. The loss adds the logits: tokens x vocab x bytes, where Hugging Face
keeps 16-bit logits, an fp32 copy and the fp32 log-softmax (and their gradients); chunked losses
(torchtune, litgpt) keep less.

Inference (no autograd) peaks inside one layer during prefill: the MLP holds its activation
output, the up projection and their product (3I) besides the hidden states; eager attention
adds heads x prompt^2 scores for one layer. Modern `generate` computes logits for the last
position only.
"""

from __future__ import annotations

from .resolve import Job
from .specs import ModelSpec
from .weights import kbit_prepared

# bytes per logit element alive at the loss peak, by framework
LOGIT_BYTES = {"hf": 12.0, "torchtune": 6.0, "litgpt": 4.0}
LOGIT_BYTES_FP32_HEAD = 8.0
VLLM_PROFILE_SEQS = 256


def _attn_widths(m: ModelSpec) -> tuple[int, int, int]:
    """(q width, k+v width, attention output width) in elements per token."""
    if m.is_mla:
        qk = m.heads * (m.qk_nope_head_dim + m.qk_rope_head_dim)
        return qk, qk + m.heads * m.v_head_dim, m.heads * m.v_head_dim
    return m.heads * m.head_dim, 2 * m.kv_heads * m.head_dim, m.heads * m.head_dim


def _mlp_width(m: ModelSpec, training: bool) -> float:
    """Per-token MLP intermediate width that is alive (routed experts for MoE)."""
    if not m.is_moe:
        return float(m.intermediate)
    shared = m.shared_expert_intermediate or m.shared_experts * m.moe_intermediate
    routed: float = m.experts_per_token * m.moe_intermediate
    if not training:
        # eager MoE loops over experts: one expert's tokens at a time (x2 for routing imbalance)
        routed = max(m.moe_intermediate * 2 * m.experts_per_token / m.num_experts, 1.0)
    return float(routed + shared)


def layer_saved_elements(job: Job) -> float:
    """Elements per token saved by one layer for backward (see module docstring)."""
    m, tp = job.model, job.req.tensor_parallel
    q, kv, o = _attn_widths(m)
    mlp = (4 if m.mlp == "gated" else 2) * _mlp_width(m, training=True)
    replicated = 4 * m.hidden / (tp if job.req.sequence_parallel else 1)
    saved = replicated + (q + kv + o + mlp) / tp
    if not job.req.flash_attn:
        saved += 3 * m.heads / tp * job.seq_len
    return saved


def logits_bytes(job: Job) -> float:
    """Loss-time logits bytes: tokens x vocab (split by tp) x bytes per element.

    Hugging Face: 16-bit logits (2) + their fp32 upcast (4) + the fp32 log-softmax kept for
    backward (4) + the gradient being formed (2). When PEFT's k-bit preparation has cast lm_head
    to fp32, the logits are fp32 from the start and the 16-bit copy disappears (8 bytes).
    """
    tokens = job.batch * job.seq_len
    per = LOGIT_BYTES.get(job.engine, LOGIT_BYTES["hf"])
    if kbit_prepared(job):
        per = LOGIT_BYTES_FP32_HEAD
    return tokens * job.model.vocab / job.req.tensor_parallel * per


def training_activation_bytes(job: Job) -> float:
    """Peak activation bytes on one GPU during a training step.

    Pipeline parallel (1F1B): each stage holds ceil(L/pp) layers; the first stage keeps ``pp``
    micro-batches in flight, the last stage one micro-batch plus the logits. The heavier wins.
    """
    m = job.model
    cb = job.compute_bytes
    tokens = job.batch * job.seq_len
    layer = layer_saved_elements(job) * tokens * cb
    transient = 2 * tokens * (m.hidden + _mlp_width(m, True) / job.req.tensor_parallel) * cb
    pp = job.req.pipeline_parallel
    stage_layers = -(-m.layers // pp)
    per_layer_kept = tokens * m.hidden * cb if job.req.grad_ckpt else layer
    work = layer + transient if job.req.grad_ckpt else transient
    last = stage_layers * per_layer_kept + max(logits_bytes(job), work)
    if pp == 1:
        return last
    first = stage_layers * pp * per_layer_kept + work
    return max(first, last)


def inference_activation_bytes(job: Job, tokens: int | None = None) -> float:
    """Peak transient bytes of one forward pass over ``tokens`` prompt tokens (prefill)."""
    m, tp = job.model, job.req.tensor_parallel
    cb = job.compute_bytes
    if tokens is None:
        prompt = job.seq_len - job.req.new_tokens if job.req.new_tokens else job.seq_len
        tokens = job.batch * max(1, prompt)
    else:
        prompt = tokens
    q, kv, o = _attn_widths(m)
    mlp_peak = (3 * _mlp_width(m, False) / tp + 2 * m.hidden) * tokens * cb
    attn_peak = ((q + kv + o) / tp + 2 * m.hidden) * tokens * cb
    if not job.req.flash_attn:
        attn_peak += job.batch * m.heads / tp * prompt * prompt * 6
    if job.req.all_logits:
        # 16-bit logits for every position, upcast to fp32 while the 16-bit copy is alive
        return max(mlp_peak, attn_peak, tokens * m.vocab / tp * (cb + 4))
    return max(mlp_peak, attn_peak) + job.batch * m.vocab * 4


def vllm_profile_bytes(job: Job) -> float:
    """vLLM's profiled activation peak: a dummy batch of max_num_batched_tokens + the sampler."""
    tokens = job.req.max_num_batched_tokens
    sampler = VLLM_PROFILE_SEQS * job.model.vocab * 4 * 2
    return inference_activation_bytes(job, tokens=tokens) + sampler
