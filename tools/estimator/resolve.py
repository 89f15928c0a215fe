"""Turn an EstimateRequest into a fully resolved job: model and GPU looked up, defaults applied,
cross-field rules checked. Every default that was applied is recorded as an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .assumptions import Assumption, assumption
from .catalog import find_gpu, find_model, gpu_note_code, looks_like_path
from .errors import InvalidRequestError, UnknownModelError
from .quant import QuantFormat, quant_format
from .request import FOUR_BIT, TRAINING, EstimateRequest
from .specs import GpuSpec, ModelSpec
from .synthetic import model_from_config, parse_size, synthetic_model

WORKLOADS_ORDER = ("full", "lora", "qlora", "inference", "serve")
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1}
"""Bytes per element: ``torch.empty((), dtype=d).element_size()`` for float32, bfloat16,
float16 and float8_e4m3fn (torch 2.1+)."""
LORA_TARGET_SETS = {
    "all-linear": ("q", "k", "v", "o", "gate", "up", "down"),
    "all": ("q", "k", "v", "o", "gate", "up", "down"),
    "attn": ("q", "k", "v", "o"),
    "qv": ("q", "v"),
    "mlp": ("gate", "up", "down"),
}
_MODULE_NAMES = {
    "q_proj": "q", "query": "q", "wq": "q", "k_proj": "k", "key": "k", "wk": "k",
    "v_proj": "v", "value": "v", "wv": "v", "o_proj": "o", "out_proj": "o", "wo": "o",
    "output_proj": "o", "dense": "o", "c_proj": "o", "gate_proj": "gate", "w1": "gate",
    "up_proj": "up", "w3": "up", "down_proj": "down", "w2": "down", "c_attn": "qkv",
    "qkv_proj": "qkv", "query_key_value": "qkv", "gate_up_proj": "gate_up", "mlp": "mlp",
    "q": "q", "k": "k", "v": "v", "o": "o", "gate": "gate", "up": "up", "down": "down",
}


@dataclass(frozen=True)
class Job:
    """A resolved request: what every formula reads."""

    req: EstimateRequest
    model: ModelSpec
    gpu: GpuSpec
    workload: str
    engine: str
    weight_dtype: str
    quant: str
    quant_format: QuantFormat | None
    kv_dtype: str
    master_weights: bool
    seq_len: int
    batch: int
    lora_modules: tuple[str, ...]
    assumptions: tuple[Assumption, ...] = field(default=())

    @property
    def training(self) -> bool:
        """True for full, LoRA and QLoRA fine-tuning."""
        return self.workload in TRAINING

    @property
    def dtype_bytes(self) -> int:
        """Bytes per element of the unquantized weights (and the compute dtype)."""
        return DTYPE_BYTES[self.weight_dtype]

    @property
    def compute_bytes(self) -> int:
        """Bytes per activation element: the 16-bit compute dtype (fp32 only for pure fp32)."""
        return 4 if self.weight_dtype == "fp32" and not self.master_weights else 2

    @property
    def shard(self) -> int:
        """GPUs a ZeRO/FSDP shard spans: the data-parallel degree, or one node's worth of it
        with hybrid sharding."""
        if self.req.hybrid_shard:
            per_node = max(1, self.req.gpus_per_node // (self.req.tensor_parallel * self.req.pipeline_parallel))
            return min(self.dp, per_node)
        return self.dp

    @property
    def dp(self) -> int:
        """Data-parallel degree: GPUs not used by tensor or pipeline parallelism."""
        return max(1, self.req.num_gpus // (self.req.tensor_parallel * self.req.pipeline_parallel))


def resolve_model(req: EstimateRequest) -> tuple[ModelSpec, list[Assumption]]:
    """Find the model: config.json path, catalog name, bare size, or params_b."""
    notes: list[Assumption] = []
    if req.config_path:
        return model_from_config(req.config_path), notes
    if req.model:
        if looks_like_path(req.model):
            return model_from_config(req.model), notes
        size = parse_size(req.model)
        if size is None:
            try:
                return find_model(req.model), notes
            except UnknownModelError:
                if req.params_b is None:
                    raise
                notes.append(assumption("model_not_in_catalog", model=req.model, params_b=req.params_b))
                size = req.params_b
        m = synthetic_model(size)
        notes.append(assumption("synthetic_model", size=size, layers=m.layers, hidden=m.hidden,
                                vocab=m.vocab))
        return m, notes
    if req.params_b is not None:
        return resolve_model(req.model_copy(update={"model": f"{req.params_b}B"}))
    raise InvalidRequestError("model", None, "give a model name, a size such as '13B', or config_path")


def _lora_modules(targets: str) -> tuple[str, ...]:
    key = targets.strip().lower().replace("_", "-")
    if key in LORA_TARGET_SETS:
        return LORA_TARGET_SETS[key]
    out: list[str] = []
    for raw in targets.replace(";", ",").split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name not in _MODULE_NAMES:
            raise InvalidRequestError(
                "lora_targets", targets,
                "use 'all-linear', 'attn', 'qv', 'mlp' or module names like q_proj,v_proj,down_proj",
            )
        mapped = _MODULE_NAMES[name]
        expand = {"qkv": ("q", "k", "v"), "gate_up": ("gate", "up"), "mlp": ("gate", "up", "down")}
        out.extend(expand.get(mapped, (mapped,)))
    return tuple(dict.fromkeys(out))


def version_tuple(text: str) -> tuple[int, ...]:
    """'0.41.1' -> (0, 41, 1); raises ValueError on anything else."""
    parts = tuple(int(p) for p in text.strip().split("."))
    if not 2 <= len(parts) <= 3:
        raise ValueError(text)
    return parts


def _version_ok(text: str) -> bool:
    try:
        version_tuple(text)
    except ValueError:
        return False
    return True


def _check_ranges(req: EstimateRequest) -> None:
    positive = {
        "batch_size": req.batch_size, "num_gpus": req.num_gpus, "lora_r": req.lora_r,
        "tensor_parallel": req.tensor_parallel, "pipeline_parallel": req.pipeline_parallel,
        "max_num_batched_tokens": req.max_num_batched_tokens, "gpus_per_node": req.gpus_per_node,
    }
    for name, value in positive.items():
        if value < 1:
            raise InvalidRequestError(name, value, "must be a whole number of at least 1")
    if req.seq_len is not None and not 1 <= req.seq_len <= 10_000_000:
        raise InvalidRequestError("seq_len", req.seq_len, "must be between 1 and 10,000,000 tokens")
    if req.batch_size > 1_000_000:
        raise InvalidRequestError("batch_size", req.batch_size, "must be at most 1,000,000")
    if not 0.05 <= req.gpu_memory_utilization <= 1.0:
        raise InvalidRequestError(
            "gpu_memory_utilization", req.gpu_memory_utilization, "must be between 0.05 and 1.0"
        )
    if req.grad_accum < 1:
        raise InvalidRequestError("grad_accum", req.grad_accum, "must be a whole number of at least 1")
    if req.gptq_group_size not in (-1, 32, 64, 128, 256, 1024):
        raise InvalidRequestError("gptq_group_size", req.gptq_group_size,
                                  "accepted: 32, 64, 128, 256, 1024 or -1 (per output channel)")
    if not _version_ok(req.transformers_version):
        raise InvalidRequestError("transformers_version", req.transformers_version,
                                  "a version such as 4.44 or 4.48.2")
    if not _version_ok(req.bnb_version):
        raise InvalidRequestError("bnb_version", req.bnb_version, "a version such as 0.41.1 or 0.45")
    if req.zero_bucket_size is not None and req.zero_bucket_size < 1:
        raise InvalidRequestError("zero_bucket_size", req.zero_bucket_size,
                                  "a number of elements (DeepSpeed reduce_bucket_size, e.g. 200000000)")
    if req.zero_stage not in (0, 1, 2, 3):
        raise InvalidRequestError("zero_stage", req.zero_stage, "accepted: 0, 1, 2 or 3")
    if req.num_gpus % (req.tensor_parallel * req.pipeline_parallel):
        raise InvalidRequestError(
            "num_gpus", req.num_gpus,
            f"must be a multiple of tensor_parallel x pipeline_parallel "
            f"({req.tensor_parallel} x {req.pipeline_parallel})",
        )


def _check_parallel(req: EstimateRequest, model: ModelSpec, dp: int) -> None:
    tp = req.tensor_parallel
    if tp > 1 and (model.heads % tp or (model.kv_heads % tp and tp % model.kv_heads)):
        raise InvalidRequestError(
            "tensor_parallel", tp,
            f"must divide the {model.heads} attention heads and be compatible with the "
            f"{model.kv_heads} KV heads of {model.name}",
        )
    if req.pipeline_parallel > model.layers:
        raise InvalidRequestError(
            "pipeline_parallel", req.pipeline_parallel, f"at most the {model.layers} layers"
        )
    # engine="deepspeed" on one GPU is a real setup (e.g. Qwen's single-GPU Q-LoRA script): nothing
    # is sharded, but the ZeRO optimizer's buffers and fp32 master copy are there
    if req.zero_stage and dp < 2 and req.offload == "none" and req.engine != "deepspeed":
        raise InvalidRequestError(
            "zero_stage", req.zero_stage,
            "ZeRO shards across data-parallel GPUs: use num_gpus >= 2, or add offload "
            "(ZeRO-Offload) on a single GPU",
        )
    if req.offload == "optimizer+params" and req.zero_stage not in (0, 3):
        raise InvalidRequestError("offload", req.offload, "parameter offload needs zero_stage=3")


def _quant(req: EstimateRequest, model: ModelSpec, notes: list[Assumption]) -> str:
    workload = req.workload
    quant = req.quant or ("nf4" if workload == "qlora" else "none")
    if req.quant is None and workload in ("inference", "serve") and model.native_quant == "fp8":
        quant = "fp8"
        notes.append(assumption("native_fp8", model=model.name))
    if quant == "none" and workload in ("inference", "serve") and model.native_quant == "mxfp4":
        notes.append(assumption("native_mxfp4", model=model.name))
    if workload == "qlora" and quant not in FOUR_BIT:
        raise InvalidRequestError(
            "quant", quant, "QLoRA needs a 4-bit base: nf4 or fp4 (bitsandbytes), gptq-4 or awq-4"
        )
    if workload in ("full", "lora") and quant != "none":
        raise InvalidRequestError(
            "quant", quant, f"{workload} fine-tuning trains 16/32-bit weights; use workload=qlora"
        )
    if workload == "serve" and quant in ("int8", "nf4", "fp4") and req.engine in (None, "vllm"):
        notes.append(assumption("vllm_bnb_slow", quant=quant))
    return quant


def _precision(req: EstimateRequest, model: ModelSpec, gpu: GpuSpec, quant: str,
               notes: list[Assumption]) -> tuple[str, bool]:
    """(weight dtype, fp32 master weights) with the notes that explain them."""
    workload = req.workload
    weight_dtype: str = req.weight_dtype
    if weight_dtype == "auto":
        weight_dtype = "bf16" if gpu.supports_bf16 else "fp16"
        if not gpu.supports_bf16:
            notes.append(assumption("gpu_no_bf16", gpu=gpu.name))
    elif weight_dtype == "bf16" and not gpu.supports_bf16:
        notes.append(assumption("gpu_no_bf16_cores", gpu=gpu.name))
    master = req.master_weights if req.master_weights is not None else workload == "full"
    deepspeed = req.zero_stage > 0 or req.engine == "deepspeed"
    if master and req.weight_dtype in ("auto", "fp32") and not (workload == "full" and deepspeed):
        weight_dtype = "fp32"
        notes.append(assumption("amp_full" if workload == "full" else "amp_master"))
    elif workload == "full" and master:
        notes.append(assumption("ds_mixed"))
    elif workload == "full":
        notes.append(assumption("pure16"))
    if quant == "none" and not (master and weight_dtype == "fp32") and not (
            workload in ("inference", "serve") and model.native_quant):
        notes.append(assumption("weights_dtype", dtype=weight_dtype))
    return weight_dtype, master


def _kv_dtype(req: EstimateRequest, gpu: GpuSpec, weight_dtype: str, master: bool) -> str:
    if req.kv_cache_dtype != "auto":
        return req.kv_cache_dtype
    if weight_dtype == "fp8" or (weight_dtype == "fp32" and master):
        return "bf16" if gpu.supports_bf16 else "fp16"
    return weight_dtype


def _seq_len(req: EstimateRequest, model: ModelSpec, notes: list[Assumption]) -> int:
    if req.seq_len is not None:
        seq = req.seq_len
    else:
        seq = min(model.max_position, 8192) if req.workload == "serve" else 2048
        notes.append(assumption("default_seq_len", seq=seq))
    if seq > model.max_position and not model.synthetic:
        notes.append(assumption("seq_exceeds_context", seq=seq, model=model.name,
                                context=model.max_position))
    return seq


def resolve(req: EstimateRequest, gpu_spec: GpuSpec | None = None) -> Job:
    """Validate the request and apply defaults; raises EstimatorError subclasses.

    ``gpu_spec`` replaces the catalog lookup of ``req.gpu`` (e.g. a card found by the probe,
    with its real free memory as ``usable_gib``).
    """
    _check_ranges(req)
    model, notes = resolve_model(req)
    gpu = gpu_spec or find_gpu(req.gpu)
    if gpu_spec is None and gpu_note_code(req.gpu):
        notes.append(assumption(gpu_note_code(req.gpu)))
    workload = req.workload
    dp = max(1, req.num_gpus // (req.tensor_parallel * req.pipeline_parallel))
    _check_parallel(req, model, dp)
    if req.offload != "none" and workload not in TRAINING:
        raise InvalidRequestError("offload", req.offload, "offload applies to training workloads")
    quant = _quant(req, model, notes)
    weight_dtype, master = _precision(req, model, gpu, quant, notes)
    engine = req.engine or ("vllm" if workload == "serve" else "hf")
    if workload == "serve" and engine not in ("vllm", "sglang"):
        raise InvalidRequestError("engine", engine, "serving capacity is modelled for vllm or sglang")
    seq = _seq_len(req, model, notes)
    lora = _lora_modules(req.lora_targets) if workload in ("lora", "qlora") else ()
    return Job(
        req=req, model=model, gpu=gpu, workload=workload, engine=engine,
        weight_dtype=weight_dtype, quant=quant,
        quant_format=None if quant == "none" else quant_format(quant),
        kv_dtype=_kv_dtype(req, gpu, weight_dtype, master), master_weights=master, seq_len=seq,
        batch=req.batch_size, lora_modules=lora, assumptions=tuple(notes),
    )
