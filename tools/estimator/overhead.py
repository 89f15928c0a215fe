"""Memory outside PyTorch's allocated tensors: CUDA context, communication buffers, allocator.

- CUDA context + kernels + cuBLAS/cuDNN handles: ~0.5 GiB per process with lazy module loading
  (CUDA >= 11.7; older stacks 1-1.3 GiB, cf. transformers' model-memory-anatomy, 1343 MB on a
  V100 in 2022). Never visible to ``torch.cuda.max_memory_allocated``.
- NCCL communicators and buffers when more than one GPU talks: ~0.5 GiB per GPU.
- The caching allocator reserves more than it allocates (block rounding, fragmentation): the
  two fractions (training, inference) are the only constants fitted to calibration rows
  (``data/fitted.toml``, refit without the scored source under leave-one-source-out).
"""

from __future__ import annotations

from .constants import allocator_slack
from .resolve import Job

GIB = 1024**3
CUDA_CONTEXT_BYTES = int(0.5 * GIB)
"""CUDA context + kernels + cuBLAS/cuDNN handles with lazy module loading (CUDA >= 11.7,
``CUDA_MODULE_LOADING=LAZY`` default from torch 1.13); transformers docs
model_memory_anatomy.md measured 1343 MB on the older eager-loading stack. One measurement per
stack: marked single-source in the assumptions."""
NCCL_BYTES = int(0.5 * GIB)
"""NCCL communicator buffers per GPU: NCCL_BUFFSIZE 4 MiB per channel and peer
(nccl docs env.html, NCCL 2.x) over up to 32 channels x (ring + tree) plus proxy buffers;
order of magnitude only, marked single-source in the assumptions."""


def cuda_context_bytes(job: Job) -> int:
    """Per-process CUDA context and library handles."""
    return 0 if job.engine == "llama.cpp" else CUDA_CONTEXT_BYTES


def comm_buffer_bytes(job: Job) -> int:
    """NCCL buffers when the job spans more than one GPU."""
    return NCCL_BYTES if job.req.num_gpus > 1 else 0


def allocator_slack_bytes(job: Job, peak_allocated: float) -> float:
    """Reserved-but-unallocated memory of the caching allocator at the peak."""
    return peak_allocated * allocator_slack("training" if job.training else "inference")


def overhead_bytes(job: Job, peak_allocated: float) -> float:
    """Everything nvidia-smi shows beyond the peak of allocated tensors."""
    return cuda_context_bytes(job) + comm_buffer_bytes(job) + allocator_slack_bytes(job, peak_allocated)
