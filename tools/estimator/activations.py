"""Activation memory: what autograd saves in training, and the transient peak in inference.

Training, per layer and token, the tensors a Llama-style block saves for backward (elements):
  4h                      block input, attention-norm output, residual, MLP-norm output
  q + k + v + o widths    FlashAttention/SDPA keep q, k, v and the attention output
  4I (gated) / 2I (plain) gate and up projections, activation output, their product
  + heads x s x 3         eager attention only: fp32 softmax + 16-bit probabilities
                          (6 bytes per score, ``attention.ScoreBytes``; the s^2 term
                          FlashAttention removes, https://arxiv.org/abs/2205.14135)
Tensor parallelism splits the attention and MLP parts (https://arxiv.org/abs/2205.05198).
With full activation checkpointing only each layer's input (h per token) is kept and one layer is
recomputed during backward. The logits (tokens x vocab x bytes per logit of the framework's loss
path, ``frameworks.loss_path``) are added per phase in ``phases.py``.

Inference (no autograd) peaks inside one layer during prefill: the MLP holds its activation
output, the up projection and their product (3I) besides the hidden states; eager attention
adds heads x prompt^2 scores for one layer (bytes per score in ``attention.py``). Modern
`generate` computes logits for the last position only.
"""

from __future__ import annotations

from .attention import baichuan_mask_bytes, causal_mask_bytes, eager, score_bytes
from .resolve import Job, version_tuple
from .specs import ModelSpec
from .weights import head_quantized, kbit_prepared, tp_placement

VLLM_PROFILE_SEQS = 256
"""vLLM's profiling run samples ``max_num_seqs`` sequences (default 256, vllm/engine/arg_utils.py
EngineArgs.max_num_seqs, v0.4-0.6): the sampler's fp32 logits and probabilities for 256 rows."""


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
    return eager(job)


def _scores(job: Job, q_tokens: int | None = None, kv_tokens: int | None = None) -> float:
    """Score elements of one layer: batch x heads (per tensor-parallel rank) x q x kv."""
    q = job.seq_len if q_tokens is None else q_tokens
    kv = job.seq_len if kv_tokens is None else kv_tokens
    return job.batch * job.model.heads / job.req.tensor_parallel * float(q) * kv


def layer_saved_bytes(job: Job) -> float:
    """Bytes one layer saves for backward over the micro-batch (eager scores included)."""
    tokens = job.batch * job.seq_len
    saved = layer_saved_elements(job) * tokens * activation_bytes(job)
    if _eager(job):
        saved += _scores(job) * score_bytes(job, job.model.attention_dropout).saved
    return saved


def kept_per_layer_bytes(job: Job) -> float:
    """What each layer keeps until backward: its input under checkpointing, else all it saves."""
    if job.req.grad_ckpt:
        return job.batch * job.seq_len * job.model.hidden * activation_bytes(job)
    return layer_saved_bytes(job)


def working_bytes(job: Job) -> float:
    """Transient bytes of the layer being computed (forward, or recomputed in backward).

    Two hidden-size and one MLP-width buffers, the eager scores of one layer beyond what it saves
    (``attention.ScoreBytes``: peak - saved), and under checkpointing the recomputed layer's
    saved tensors.
    """
    m = job.model
    tokens = job.batch * job.seq_len
    ab = activation_bytes(job)
    transient = 2 * tokens * (m.hidden + _mlp_width(m, True) / job.req.tensor_parallel) * ab
    if _eager(job):
        sb = score_bytes(job, m.attention_dropout)
        transient += _scores(job) * (sb.peak - sb.saved)
    return transient + (layer_saved_bytes(job) if job.req.grad_ckpt else 0.0) + dequant_bytes(job)


def alibi_bytes(job: Job) -> float:
    """Masks alive for the whole step: eager attention's 4-D causal mask and Baichuan2-13B's ALiBi
    bias and mask (``attention.causal_mask_bytes``, ``attention.baichuan_mask_bytes``); BLOOM's
    ALiBi is an O(heads x seq) tensor folded into the scores (no extra seq^2 term)."""
    ab = activation_bytes(job)
    return causal_mask_bytes(job, ab) + baichuan_mask_bytes(job, ab)


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
    """tokens x vocab on one GPU: every engine the estimator models gathers the full-vocabulary
    logits to each tensor-parallel rank (``weights.tp_placement``); only a vocab-parallel loss
    (Megatron) would keep a 1/tp slice."""
    split = tp_placement(job)["logits"] == "split"
    return job.batch * job.seq_len * job.model.vocab / (job.req.tensor_parallel if split else 1)


def training_activation_bytes(job: Job) -> float:
    """Saved activations + the working layer (no logits): the forward-phase activation term."""
    return saved_activation_bytes(job) + working_bytes(job) + alibi_bytes(job)


LOGITS_TO_KEEP_VERSION = (4, 45)
"""transformers release from which ``generate`` asks the model for the last position's logits
only: ``GenerationMixin._prepare_generation_config`` passes ``num_logits_to_keep=1`` (renamed
``logits_to_keep`` in 4.48) and ``LlamaForCausalLM.forward`` computes
``self.lm_head(hidden_states[:, -num_logits_to_keep:, :])`` (src/transformers/models/llama/
modeling_llama.py v4.45); v4.37-4.44 ran ``logits = self.lm_head(hidden_states); logits =
logits.float()`` over every prompt position."""


def all_prompt_logits(job: Job) -> bool:
    """True when prefill forms logits for every prompt position: the request says so (remote
    code), or engine=hf with transformers older than ``LOGITS_TO_KEEP_VERSION``."""
    if job.req.all_logits:
        return True
    return job.engine == "hf" and version_tuple(job.req.transformers_version)[:2] < LOGITS_TO_KEEP_VERSION


def prefill_working_set(job: Job, tokens: int | None = None) -> dict[str, float]:
    """What one prefill forward holds besides weights and KV cache, by term (bytes).

    tokens: prompt tokens in this forward (transformers: the whole prompt; vLLM/SGLang: one chunk
    of max_num_batched_tokens; llama.cpp: one ubatch); mlp: the MLP step of one layer (3I + 2h
    per token); attention: the attention step (q, k, v, o + 2h per token, eager scores of one
    layer); logits: the last position's fp32 logits, or every position's (16-bit + fp32 upcast)
    before transformers 4.45; masks: eager 4-D mask / ALiBi tensors; peak: max(mlp, attention,
    logits) + masks (+ the last-position logits when they are not the peak term).
    """
    m, tp = job.model, job.req.tensor_parallel
    cb = job.compute_bytes
    prompt = max(1, job.seq_len - job.req.new_tokens if job.req.new_tokens else job.seq_len)
    if tokens is None:
        tokens = job.batch * prompt
    q, kv, o = _attn_widths(m)
    mlp_peak = (3 * _mlp_width(m, False) / tp + 2 * m.hidden) * tokens * cb
    attn_peak = ((q + kv + o) / tp + 2 * m.hidden) * tokens * cb
    masks = 0.0
    if _eager(job):
        # the scores of one layer: this forward's query tokens against the prompt so far
        sb = score_bytes(job)
        q_tokens = max(1, tokens // max(1, job.batch))
        kv_tokens = min(prompt, q_tokens) if job.engine in ("vllm", "sglang") else prompt
        scores = _scores(job, q_tokens=q_tokens, kv_tokens=kv_tokens)
        attn_peak += scores * sb.infer
        mlp_peak += scores * sb.kept_infer
        masks = causal_mask_bytes(job, cb) + baichuan_mask_bytes(job, cb)
    if all_prompt_logits(job):
        # 16-bit logits for every position, upcast to fp32 while the 16-bit copy is alive
        logits = tokens * m.vocab / tp * (cb + 4)
        peak = max(mlp_peak, attn_peak, logits) + masks
    else:
        logits = job.batch * m.vocab * 4.0
        peak = max(mlp_peak, attn_peak) + logits + masks
    return {"tokens": float(tokens), "mlp": mlp_peak, "attention": attn_peak, "logits": logits,
            "masks": masks, "peak": peak}


def inference_activation_bytes(job: Job, tokens: int | None = None) -> float:
    """Peak transient bytes of one forward pass over ``tokens`` prompt tokens (prefill)."""
    return prefill_working_set(job, tokens)["peak"]


def vllm_profile_bytes(job: Job) -> float:
    """vLLM's profiled activation peak: a dummy batch of max_num_batched_tokens + the sampler."""
    tokens = job.req.max_num_batched_tokens
    sampler = VLLM_PROFILE_SEQS * job.model.vocab * 4 * 2
    return inference_activation_bytes(job, tokens=tokens) + sampler
