"""KV cache: bytes per token and for a batch, aware of GQA/MQA, MLA and sliding windows.

Per token and layer with full attention (https://arxiv.org/abs/2305.13245 for GQA):
    2 (K and V) x kv_heads x head_dim x bytes
MLA (DeepSeek-V2, https://arxiv.org/abs/2405.04434) caches one compressed latent per token:
    (kv_lora_rank + qk_rope_head_dim) x bytes, shared by all heads (not split by tensor parallel).
Sliding-window layers hold at most ``window`` tokens. Under tensor parallelism each GPU holds
``max(1, kv_heads / tp)`` KV heads (vLLM replicates KV heads when tp > kv_heads).
"""

from __future__ import annotations

from .resolve import DTYPE_BYTES, Job
from .specs import ModelSpec


def kv_bytes_per_token_layer(m: ModelSpec, kv_bytes: int, tp: int = 1) -> int:
    """Bytes one token adds to one full-attention layer's cache on one GPU."""
    if m.is_mla:
        return (m.kv_lora_rank + m.qk_rope_head_dim) * kv_bytes
    heads = max(1, m.kv_heads // tp) if m.kv_heads >= tp else 1
    return 2 * heads * m.head_dim * kv_bytes


def kv_cache_bytes(m: ModelSpec, tokens_per_seq: int, seqs: int, kv_bytes: int, tp: int = 1,
                   pp: int = 1) -> int:
    """KV bytes on one GPU for ``seqs`` sequences of ``tokens_per_seq`` tokens.

    Layers are divided over pipeline stages (rounded up); local layers cap at the window.
    """
    per_layer = kv_bytes_per_token_layer(m, kv_bytes, tp)
    full_layers = m.global_layers
    local_layers = m.layers - full_layers
    local_tokens = min(tokens_per_seq, m.sliding_window) if m.sliding_window else 0
    tokens = full_layers * tokens_per_seq + local_layers * local_tokens
    return -(-tokens * per_layer * seqs // pp)


def kv_bytes_per_token(job: Job) -> float:
    """Average cache bytes per token of context on one GPU, all layers (for capacity maths)."""
    m = job.model
    per_layer = kv_bytes_per_token_layer(m, DTYPE_BYTES[job.kv_dtype], job.req.tensor_parallel)
    return per_layer * m.layers / job.req.pipeline_parallel


def job_kv_cache_bytes(job: Job) -> int:
    """The request's KV cache on one GPU: batch x seq_len tokens (inference only)."""
    if job.workload not in ("inference", "serve"):
        return 0
    return kv_cache_bytes(
        job.model, job.seq_len, job.batch, DTYPE_BYTES[job.kv_dtype],
        job.req.tensor_parallel, job.req.pipeline_parallel,
    )
