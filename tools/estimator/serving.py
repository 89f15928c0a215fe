"""Serving-engine pool (vLLM/SGLang): what is left for KV cache and what fits in it.

vLLM (V1 ``determine_available_memory``) requests ``gpu_memory_utilization x total`` and gives the
KV cache what remains after the weights, the activation peak of a profiling run with
``max_num_batched_tokens`` dummy tokens, and non-torch memory (CUDA context, NCCL, custom
all-reduce buffers: more with tensor parallelism). CUDA graphs take memory outside that budget
in most versions. The cache is paged in blocks of 16 tokens (https://arxiv.org/abs/2309.06180).
"""

from __future__ import annotations

from .activations import vllm_profile_bytes
from .kv import kv_bytes_per_token_layer, kv_cache_bytes
from .resolve import DTYPE_BYTES, Job
from .result import GIB, ServingCapacity, gib

BLOCK_TOKENS = 16
"""vLLM default KV block size: vllm/config.py CacheConfig block_size = 16 (v0.4-0.8)."""
NON_TORCH_TP1 = 0.75 * GIB
"""vLLM non-torch memory on one GPU (CUDA context, cuBLAS workspace) as reported by
``determine_available_memory`` logs (vllm/worker/worker.py v0.6 'non_torch_memory'); from the
vllm-issue-logs calibration rows only: single-source."""
NON_TORCH_TP = 1.5 * GIB
"""The same with tensor parallelism: NCCL and custom all-reduce buffers
(vllm/distributed/device_communicators/custom_all_reduce.py, 8 MiB x world buffers + IPC
handles) on top; one TP=2 log in vllm-issue-logs: single-source."""
CUDA_GRAPHS = 1.0 * GIB
"""CUDA graph capture pool outside the gpu_memory_utilization budget (vllm/worker/
model_runner.py capture_model, v0.4-0.6: 'Graph capturing finished ... took X GiB', typically
0.5-1.5 GiB); single-source."""


def seq_kv_bytes(job: Job, tokens: int) -> int:
    """KV bytes of one sequence of ``tokens`` on one GPU, rounded up to whole 16-token blocks."""
    blocks = -(-tokens // BLOCK_TOKENS)
    return kv_cache_bytes(
        job.model, blocks * BLOCK_TOKENS, 1, DTYPE_BYTES[job.kv_dtype],
        job.req.tensor_parallel, job.req.pipeline_parallel,
    )


def non_torch_bytes(job: Job) -> float:
    """CUDA context and communication buffers that vLLM budgets as non-torch memory."""
    return NON_TORCH_TP if job.req.num_gpus > 1 else NON_TORCH_TP1


def _max_len(job: Job, pool: float) -> int:
    """Longest single sequence whose cache fits in ``pool`` bytes (binary search)."""
    lo, hi = 0, 1 << 24
    if seq_kv_bytes(job, BLOCK_TOKENS) > pool:
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if seq_kv_bytes(job, mid) <= pool:
            lo = mid
        else:
            hi = mid - 1
    return lo - lo % BLOCK_TOKENS if lo >= BLOCK_TOKENS else lo


def serving_capacity(job: Job, weights: float) -> ServingCapacity:
    """The pool arithmetic for one GPU of a (possibly tensor-parallel) serving replica."""
    budget = job.req.gpu_memory_utilization * job.gpu.usable_bytes
    act = vllm_profile_bytes(job)
    non_torch = non_torch_bytes(job)
    pool = max(0.0, budget - weights - act - non_torch)
    m = job.model
    per_token = kv_bytes_per_token_layer(m, DTYPE_BYTES[job.kv_dtype], job.req.tensor_parallel)
    per_token_all = per_token * m.layers / job.req.pipeline_parallel
    per_seq = seq_kv_bytes(job, job.seq_len)
    return ServingCapacity(
        budget_gib=gib(budget),
        activation_profile_gib=gib(act),
        non_torch_gib=gib(non_torch),
        kv_pool_gib=gib(pool),
        kv_bytes_per_token=per_token_all,
        max_tokens=int(pool // per_token_all) // BLOCK_TOKENS * BLOCK_TOKENS if per_token_all else 0,
        max_model_len=_max_len(job, pool),
        max_concurrent_seqs=int(pool // per_seq) if per_seq else 0,
        seq_len=job.seq_len,
        seq_kv_gib=gib(per_seq),
        cuda_graphs_gib=gib(CUDA_GRAPHS),
    )
