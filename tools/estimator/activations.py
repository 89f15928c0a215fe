"""Activation memory: what autograd saves in training, and the transient peak in inference.

Training, per layer and token, the tensors a Llama-style block saves for backward (elements):
  4h                      block input, attention-norm output, residual, MLP-norm output
  q + k + v + o widths    FlashAttention/SDPA keep q, k, v and the attention output
  4I (gated) / 2I (plain) gate and up projections, activation output, their product
  + heads x s x 3         eager attention only: fp32 softmax + 16-bit probabilities
                          (the s^2 term FlashAttention removes, https://arxiv.org/abs/2205.14135)
Tensor parallelism splits the attention and MLP parts (https://arxiv.org/abs/2205.05198).
With full activation checkpointing only each layer's input (h per token) is kept and one layer is
recomputed during backward. The logits (tokens x vocab x bytes per logit of the framework's loss
path, ``frameworks.loss_path``) are added per phase in ``phases.py``.

Inference (no autograd) peaks inside one layer during prefill: the MLP holds its activation
output, the up projection and their product (3I) besides the hidden states; eager attention
adds heads x prompt^2 scores for one layer. Modern `generate` computes logits for the last
position only.
"""

from __future__ import annotations

from .frameworks import alibi_source, eager_attention
from .resolve import Job, version_tuple
from .specs import ModelSpec
from .weights import head_quantized, kbit_prepared

VLLM_PROFILE_SEQS = 256
EAGER_SAVED_BYTES = 6.0
"""Eager attention, per score element saved for backward: the fp32 softmax output (4) and its
16-bit cast used by the probabilities x V matmul (2); transformers
src/transformers/models/llama/modeling_llama.py eager_attention_forward (v4.48+):
``softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)``; dropout p=0 keeps no mask."""
EAGER_TRANSIENT_BYTES = 6.0
"""Eager attention, per score element alive only inside the layer being computed: the 16-bit
scores and masked scores (2 + 2) and the fp32 softmax input (4) minus what is freed at once (~6)."""
ALIBI_BIAS_BYTES = 4.0
"""ALiBi bias, per heads x seq^2 element: built in fp32 (Baichuan2-13B _gen_alibi_mask,
transformers modeling_bloom.py build_alibi_tensor)."""


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


def activation_bytes(job: Job) -> float:
    """Bytes per saved activation element in training.

    The compute dtype, except under PEFT's k-bit preparation of a bitsandbytes/AWQ base: the
    embeddings and norms are fp32, and bitsandbytes ``Linear4bit.forward`` casts its output back
    to the input dtype (bitsandbytes/nn/modules.py, v0.41-0.45: ``out = out.to(inp_dtype)``),
    so the residual stream, the projections' outputs and the checkpointed layer inputs are fp32.
    """
    return 4.0 if kbit_prepared(job) else float(job.compute_bytes)


BNB_INPUT_FIX = (0, 43, 2)
"""bitsandbytes release from which ``MatMul4Bit`` no longer keeps its input: before it,
``MatMul4Bit.forward`` stored ``ctx.tensors = (A, B)`` although backward only needs the weight
(bitsandbytes/autograd/_functions.py, 0.41.0-0.43.1; fixed by PR #1270 "fix QLoRA mem bug:
delete useless buffered activation", ``ctx.tensors = (None, B)`` from 0.43.2)."""


def bnb_keeps_inputs(job: Job) -> bool:
    """True when every bitsandbytes 4-bit linear holds its input until backward (see ``BNB_INPUT_FIX``)."""
    return (job.workload == "qlora" and job.quant in ("nf4", "fp4") and job.engine != "torchtune"
            and version_tuple(job.req.bnb_version) < BNB_INPUT_FIX)


def layer_saved_elements(job: Job) -> float:
    """Elements per token saved by one layer for backward, without eager attention scores.

    A frozen linear saves nothing for its input gradient beyond its weight (torch autograd saves
    ``mm``'s ``self`` only when ``mat2`` requires grad, pytorch/pytorch#97575). Old bitsandbytes
    4-bit linears keep their inputs anyway (``bnb_keeps_inputs``): the attention and MLP inputs
    (h each) and the down projection's input (the MLP width); the attention output feeding the
    output projection is already saved by the attention kernel.
    """
    m, tp = job.model, job.req.tensor_parallel
    q, kv, o = _attn_widths(m)
    mlp = (4 if m.mlp == "gated" else 2) * _mlp_width(m, training=True)
    replicated = 4 * m.hidden / (tp if job.req.sequence_parallel else 1)
    saved = replicated + (q + kv + o + mlp) / tp
    if bnb_keeps_inputs(job):
        saved += (2 * m.hidden + _mlp_width(m, training=True)) / tp
    return saved


GPTQ_UNPACK_BYTES = 5.0
"""AutoGPTQ qlinear_cuda_old.py (v0.4-v0.7) forward for 128 rows or more (every training batch):
``torch.bitwise_right_shift`` of the int32 ``qweight`` expanded to one element per weight (4 bytes)
cast to int8 (1 byte) before ``scales * (weight - zeros)`` forms the fp16 weight: ~5 bytes per
weight of the matrix being dequantized, transient."""


def _layer_matrices(job: Job) -> list[float]:
    """Weights of each linear of one decoder layer on one GPU."""
    m, tp = job.model, job.req.tensor_parallel
    q, kv, o = _attn_widths(m)
    inter = _mlp_width(m, training=True)
    mlp = [m.hidden * inter] * (3 if m.mlp == "gated" else 2)
    return [w / tp for w in [m.hidden * (q + kv), o * m.hidden, *mlp]]


def dequant_bytes(job: Job) -> float:
    """Transient and saved 16-bit weights of a quantized base while a layer is computed.

    bitsandbytes 4-bit: ``MatMul4Bit`` dequantizes its weight to 16 bits in forward and again in
    backward (``F.dequantize_4bit(B, ...)``, bitsandbytes/autograd/_functions.py 0.41-0.45), one
    matrix at a time: the largest 4-bit matrix (lit-gpt's quantized lm_head, else the MLP's).
    GPTQ (AutoGPTQ cuda-old kernels, used with ``disable_exllama=True``): the dequantized fp16
    weight is an ordinary autograd input of ``torch.matmul(x, weight)``, which saves it for the
    input gradient, so every GPTQ linear in the graph keeps a 16-bit copy of its weight until
    backward: one layer (the recomputed one) under checkpointing, every layer without; plus the
    unpacking transient of one matrix (``GPTQ_UNPACK_BYTES``).
    """
    if not job.training or job.workload != "qlora":
        return 0.0
    mats = _layer_matrices(job)
    if job.quant in ("nf4", "fp4") and job.engine != "torchtune":  # torchtune: torchao NF4, not modelled here
        largest = max(mats)
        if head_quantized(job):
            largest = max(largest, job.model.vocab * job.model.hidden)
        return largest * 2.0
    if job.quant.startswith("gptq"):
        layers = 1 if job.req.grad_ckpt else -(-job.model.layers // job.req.pipeline_parallel)
        return layers * sum(mats) * 2.0 + max(mats) * GPTQ_UNPACK_BYTES
    return 0.0


def _eager(job: Job) -> bool:
    return eager_attention(job)


def layer_saved_bytes(job: Job) -> float:
    """Bytes one layer saves for backward over the micro-batch (eager scores included)."""
    tokens = job.batch * job.seq_len
    saved = layer_saved_elements(job) * tokens * activation_bytes(job)
    if _eager(job):
        saved += job.batch * job.model.heads / job.req.tensor_parallel * job.seq_len ** 2 * EAGER_SAVED_BYTES
    return saved


def kept_per_layer_bytes(job: Job) -> float:
    """What each layer keeps until backward: its input under checkpointing, else all it saves."""
    if job.req.grad_ckpt:
        return job.batch * job.seq_len * job.model.hidden * activation_bytes(job)
    return layer_saved_bytes(job)


def working_bytes(job: Job) -> float:
    """Transient bytes of the layer being computed (forward, or recomputed in backward).

    Two hidden-size and one MLP-width buffers, the eager scores of one layer, and under
    checkpointing the recomputed layer's saved tensors.
    """
    m = job.model
    tokens = job.batch * job.seq_len
    ab = activation_bytes(job)
    transient = 2 * tokens * (m.hidden + _mlp_width(m, True) / job.req.tensor_parallel) * ab
    if _eager(job):
        transient += job.batch * m.heads / job.req.tensor_parallel * job.seq_len ** 2 * EAGER_TRANSIENT_BYTES
    return transient + (layer_saved_bytes(job) if job.req.grad_ckpt else 0.0) + dequant_bytes(job)


def alibi_bytes(job: Job) -> float:
    """The ALiBi bias built once per forward (heads x seq^2, fp32); 0 for other models."""
    if not alibi_source(job):
        return 0.0
    return job.model.heads / job.req.tensor_parallel * job.seq_len ** 2 * ALIBI_BIAS_BYTES


def saved_activation_bytes(job: Job, microbatches: int = 1) -> float:
    """Saved activations of one pipeline stage's layers for ``microbatches`` micro-batches.

    Activation offloading (torchtune ``OffloadActivations``, torchtune/training/_activation_offloading.py)
    moves each checkpointed layer input to the host as soon as it is saved; about two layers'
    worth stay on the GPU (the one being offloaded and the one being prefetched back).
    """
    stage_layers = -(-job.model.layers // job.req.pipeline_parallel)
    kept = kept_per_layer_bytes(job)
    if job.req.activation_offload:
        return 2 * kept
    return stage_layers * kept * microbatches


def logits_elements(job: Job) -> float:
    """tokens x vocab on one GPU (vocab-parallel under tensor parallelism)."""
    return job.batch * job.seq_len * job.model.vocab / job.req.tensor_parallel


def training_activation_bytes(job: Job) -> float:
    """Saved activations + the working layer (no logits): the forward-phase activation term."""
    return saved_activation_bytes(job) + working_bytes(job) + alibi_bytes(job)


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
    if _eager(job):
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
