"""Attention paths: which kernel a job's attention runs, and the seq^2 tensors it materializes.

The path is the request's ``attention`` field ("auto": the engine's default from
``data/frameworks.toml`` [engine_attention], eager when ``flash_attn=False``), unless the model's
own code fixes it ([attention_models]: BLOOM has only eager attention in transformers; the
Baichuan2-13B remote code picks its path from ``self.training`` whatever attn_implementation says).
SDPA and FlashAttention keep O(seq) per layer; eager attention materializes heads x q x kv scores.

Bytes per score element of transformers' eager attention, traced op by op through
``eager_attention_forward`` (transformers src/transformers/models/llama/modeling_llama.py
v4.48-4.57; the same ops inline in ``LlamaAttention.forward`` v4.36-4.47)::

    attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling     # A, B: 16-bit
    attn_weights = attn_weights + causal_mask                                      # C: 16-bit
    attn_weights = softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)  # E fp32, F
    attn_weights = dropout(attn_weights, p=dropout, training=module.training)     # p=0: F itself
    attn_output = torch.matmul(attn_weights, value_states)

``softmax(x, dtype=float32)`` on a bf16 tensor first makes an fp32 copy of its input; on fp16 CUDA
tensors it calls ``_softmax(x, half_to_float=True)`` without the copy (pytorch
aten/src/ATen/native/SoftMax.cpp ``softmax``, torch 2.0-2.5). Dropout with p=0 returns its input
(aten/src/ATen/native/Dropout.cpp ``_dropout_impl``: ``if (p == 0 || !train ...) return input``);
with p > 0 it saves a bool mask (1 byte) and its output (2) instead of F.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidRequestError
from .frameworks import framework_data
from .resolve import Job

PATHS = ("eager", "sdpa", "flash")
LLAMA_CPP_EAGER_BYTES = 8.0
"""llama.cpp without ``-fa``: ``kq = ggml_mul_mat(ctx, k, q)`` (f32, 4 bytes) and its
``ggml_soft_max_ext`` output (f32, 4) are both in the compute buffer for the layer being built
(llama.cpp src/llama.cpp ``llm_build_kqv``, b3000-b4000), per ubatch token x context token x head."""


@dataclass(frozen=True)
class ScoreBytes:
    """Bytes per heads x q x kv score element of one layer's eager attention.

    saved: kept for backward (training); peak: alive at the layer's own peak in training (the
    backward of its softmax), saved included; infer: alive at the inference peak inside
    attention; kept_infer: still alive while the same layer's MLP runs in inference.
    """

    saved: float
    peak: float
    infer: float
    kept_infer: float


TRANSFORMERS_EAGER_BF16 = ScoreBytes(saved=6.0, peak=12.0, infer=10.0, kept_infer=2.0)
"""bf16: saved E (fp32, 4) + F (2) = 6. Training peak in the layer's backward: grad_F (2) cast to
fp32 (grad_E, 4), ``_softmax_backward_data`` forms the fp32 input gradient (4) while E is held:
E + grad_E + grad_in = 12. Inference: C (2) + the fp32 input copy (4) + E (4) = 10 at the softmax;
F (2) is returned as ``attn_weights`` and held by ``LlamaDecoderLayer.forward``
(``hidden_states, self_attn_weights = self.self_attn(...)``, v4.48+) until the layer returns,
through the MLP."""
TRANSFORMERS_EAGER_FP16 = ScoreBytes(saved=6.0, peak=10.0, infer=8.0, kept_infer=2.0)
"""fp16 (half_to_float softmax, no input copy): saved 6; training peak E + grad_E + the 16-bit
input gradient = 4 + 4 + 2 = 10; inference C + E + F = 2 + 4 + 2 = 8 at the ``.to()``."""
BAICHUAN_EAGER = ScoreBytes(saved=4.0, peak=8.0, infer=4.0, kept_infer=0.0)
"""Baichuan2-13B modeling_baichuan.py eager branch: ``matmul / sqrt``, ``+ attention_mask``,
``torch.max(attn_weights, finfo.min)``, ``softmax(attn_weights, dim=-1)`` with no fp32 upcast:
two 16-bit score tensors alive at each op in inference (4); ``attn_weights = None`` unless
output_attentions. Training (eager only without xformers): the max's input and the softmax
output are saved (2 + 2), backward adds their two 16-bit gradients."""


def _model_entry(job: Job) -> dict[str, object]:
    entry = framework_data()["attention_models"].get(job.model.id, {})
    return dict(entry)


def model_fixed_path(job: Job) -> str:
    """The path the model's code takes whatever the request says ('' when the request decides)."""
    entry = _model_entry(job)
    if not entry:
        return ""
    return str(entry["train"] if job.training else entry["infer"])


def model_attention_source(job: Job) -> str:
    """Why the model's code fixes its attention path ('' when it does not)."""
    return str(_model_entry(job).get("source", ""))


def alibi_kind(job: Job) -> str:
    """'', 'slopes' or 'baichuan-mask' (see data/frameworks.toml [attention_models])."""
    return str(_model_entry(job).get("alibi", ""))


def _engine_entry(job: Job) -> dict[str, object]:
    table = framework_data()["engine_attention"]
    return dict(table.get(job.engine, table["hf"]))


def check_attention(job: Job) -> None:
    """One-line errors for attention requests the engine, model or GPU cannot run."""
    req = job.req
    asked = req.attention
    if asked != "auto" and not req.flash_attn and asked != "eager":
        raise InvalidRequestError(
            "attention", asked, "flash_attn=False asks for eager attention; drop one of the two")
    engine = _engine_entry(job)
    supported = [str(s) for s in engine["supported"]]  # type: ignore[attr-defined]
    wanted = asked if asked != "auto" else ("eager" if not req.flash_attn else "")
    if wanted and wanted not in supported:
        raise InvalidRequestError(
            "attention" if asked != "auto" else "flash_attn", asked if asked != "auto" else False,
            f"{job.engine} runs attention = {', '.join(supported)} ({str(engine['source']).split(':')[0]})")
    entry = _model_entry(job)
    if entry and asked != "auto" and asked not in [str(s) for s in entry["supported"]]:  # type: ignore[attr-defined]
        fixed = model_fixed_path(job)
        accepted = ", ".join(["auto", *[str(s) for s in entry["supported"]]])  # type: ignore[attr-defined]
        raise InvalidRequestError(
            "attention", asked,
            f"{job.model.name}'s code runs {fixed} attention whatever attn_implementation says; accepted: {accepted}")
    if asked == "flash" and job.engine in ("hf", "deepspeed"):
        if not job.gpu.flash_attention2:
            raise InvalidRequestError(
                "attention", asked,
                f"FlashAttention-2 needs an Ampere or newer GPU (sm80+); {job.gpu.name} is sm"
                f"{job.gpu.compute_capability.replace('.', '')}: use attention=sdpa")
        if job.weight_dtype == "fp32" and not job.master_weights:
            raise InvalidRequestError(
                "attention", asked, "FlashAttention-2 runs in fp16/bf16 only; use attention=sdpa for fp32")


def attention_path(job: Job) -> str:
    """'eager', 'sdpa' or 'flash': the attention this job runs."""
    fixed = model_fixed_path(job)
    if fixed:
        return fixed
    if job.req.attention != "auto":
        return job.req.attention
    if not job.req.flash_attn:
        return "eager"
    return str(_engine_entry(job)["default"])


def attention_source(job: Job) -> str:
    """The framework file the path comes from (the model's code, else the engine's default)."""
    return model_attention_source(job) or str(_engine_entry(job)["source"])


def eager(job: Job) -> bool:
    """True when attention materializes heads x q x kv scores."""
    return attention_path(job) == "eager"


def score_bytes(job: Job, attention_dropout: float = 0.0) -> ScoreBytes:
    """Bytes per score element of this job's eager attention (see the module docstring)."""
    if job.engine == "llama.cpp":
        return ScoreBytes(0.0, 0.0, LLAMA_CPP_EAGER_BYTES, 0.0)
    if alibi_kind(job) == "baichuan-mask":
        return BAICHUAN_EAGER
    base = TRANSFORMERS_EAGER_FP16 if job.weight_dtype == "fp16" else TRANSFORMERS_EAGER_BF16
    if attention_dropout > 0 and job.training:
        # native_dropout saves its bool mask (1) and output (2); F (2) is then not saved
        return ScoreBytes(saved=base.saved + 1.0, peak=base.peak + 1.0, infer=base.infer,
                          kept_infer=base.kept_infer)
    return base


def causal_mask_bytes(job: Job, act_bytes: float) -> float:
    """The 4-D causal mask eager attention adds to the scores: batch x 1 x seq x seq in the
    hidden states' dtype, built once per forward and alive until backward ends
    (transformers modeling_llama.py ``LlamaModel._update_causal_mask`` v4.38-4.57; SDPA without
    padding and FlashAttention use is_causal / the 2-D mask instead)."""
    if not eager(job) or job.engine not in ("hf", "deepspeed"):
        return 0.0
    return job.batch * float(job.seq_len) ** 2 * act_bytes


def baichuan_mask_bytes(job: Job, act_bytes: float) -> float:
    """Baichuan2-13B's ALiBi tensors on one GPU (modeling_baichuan.py, remote code 2023-09).

    Training: ``get_alibi_mask`` builds ``_buffered_future_mask`` (heads x seq x seq, built on the
    CPU, moved with ``.to(tensor)`` into the embeddings' dtype) and caches it as
    ``self.alibi_mask``; ``BaichuanModel.forward`` then forms ``attention_mask = inverted_mask +
    alibi_mask.unsqueeze(0)`` (batch x heads x seq x seq) for every layer. Inference: the
    ``future_mask`` buffer is registered at ``max(model_max_length, seq)`` squared per head, plus
    the same batch x heads x seq^2 mask.
    """
    if alibi_kind(job) != "baichuan-mask":
        return 0.0
    heads = job.model.heads / job.req.tensor_parallel
    seq = float(job.seq_len)
    cached = seq if job.training else float(max(job.model.max_position, job.seq_len))
    return heads * cached ** 2 * act_bytes + job.batch * heads * seq ** 2 * act_bytes
