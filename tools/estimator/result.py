"""The estimator's output: a per-GPU breakdown in GiB, totals, verdict, assumptions, suggestions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .assumptions import Assumption

GIB = 1024**3


def gib(n_bytes: float) -> float:
    """Bytes to GiB (2^30), rounded to 0.01 for display stability."""
    return round(n_bytes / GIB, 3)


class PerGpu(BaseModel):
    """Memory terms on the most loaded GPU, in GiB."""

    model_config = ConfigDict(frozen=True)

    weights_gib: float = 0.0
    kv_cache_gib: float = 0.0
    activations_gib: float = 0.0
    gradients_gib: float = 0.0
    optimizer_gib: float = 0.0
    logits_gib: float = 0.0
    temporaries_gib: float = Field(default=0.0, description="load staging, optimizer-step temporaries")
    overhead_gib: float = 0.0


class ServingCapacity(BaseModel):
    """vLLM-style pool: what is left for KV cache and what fits in it."""

    model_config = ConfigDict(frozen=True)

    budget_gib: float = Field(description="gpu_memory_utilization x usable memory")
    activation_profile_gib: float
    non_torch_gib: float
    kv_pool_gib: float
    kv_bytes_per_token: float
    max_tokens: int = Field(description="KV-cache tokens that fit, all sequences together")
    max_model_len: int = Field(description="longest single sequence that fits")
    max_concurrent_seqs: int = Field(description="sequences of seq_len that fit at once")
    seq_len: int = Field(default=0, description="tokens per sequence the capacity is counted for")
    seq_kv_gib: float = Field(default=0.0, description="KV cache of one sequence of seq_len, per GPU")
    cuda_graphs_gib: float


class Suggestion(BaseModel):
    """A concrete change and what it gives."""

    model_config = ConfigDict(frozen=True)

    change: str
    total_gib: float
    fits: bool


class Estimate(BaseModel):
    """Result of ``estimate()``: numbers come from the formulas, never from guesses."""

    model_config = ConfigDict(frozen=True)

    model: str
    model_id: str
    params_b: float
    trainable_params: int
    workload: str
    gpu: str
    gpu_id: str
    num_gpus: int
    per_gpu: PerGpu
    peak_allocated_gib: float = Field(description="what torch.cuda.max_memory_allocated reports")
    peak_reserved_gib: float = Field(description="what torch.cuda.max_memory_reserved reports")
    total_gib: float = Field(description="what nvidia-smi shows per GPU")
    capacity_gib: float = Field(description="usable memory of one GPU")
    fits: bool
    headroom_gib: float
    host_ram_gib: float
    serving: ServingCapacity | None = None
    assumptions: list[str]
    assumption_items: list[Assumption] = []
    phases: dict[str, float] = Field(
        default={}, description="training: GiB allocated at each phase of a step (load, forward, "
        "loss, backward, optimizer)")
    peak_phase: str | None = Field(default=None, description="the phase that sets the peak")
    bytes_per_logit: float | None = Field(
        default=None, description="training: bytes per logit element at the loss/backward peak")
    prefill: dict[str, float] = Field(
        default={}, description="inference: the prefill working set beyond weights and KV cache "
        "(GiB by term: mlp, attention, logits, masks, peak; 'tokens' is a count)")
    prefill_engine: str | None = Field(
        default=None, description="inference: the engine and version the prefill model follows")
    suggestions: list[Suggestion] = []
    settings: dict[str, object] = {}
