"""The estimator's input: one workload on one GPU set, with sensible defaults for all but the model.

Values are validated here (types, ranges, accepted names); cross-field checks that need the model
(tensor parallel must divide the heads, ...) happen in ``resolve.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Workload = Literal["inference", "serve", "full", "lora", "qlora"]
Quant = Literal[
    "none", "int8", "nf4", "fp4", "gptq-3", "gptq-4", "gptq-8", "awq-4", "fp8", "gguf-q4_k_m",
    "gguf-q8_0",
]
Optimizer = Literal[
    "adamw", "adamw-8bit", "paged-adamw-8bit", "paged-adamw", "sgd", "sgd-momentum", "adafactor",
]
Offload = Literal["none", "optimizer", "optimizer+params"]
OffloadDevice = Literal["cpu", "nvme"]
Engine = Literal["hf", "deepspeed", "vllm", "sglang", "llama.cpp", "torchtune", "litgpt"]
DType = Literal["auto", "fp32", "bf16", "fp16", "fp8"]
Loss = Literal["auto", "standard", "chunked", "fused-linear"]
OptimizerImpl = Literal["auto", "foreach", "fused", "per-tensor"]
Attention = Literal["auto", "eager", "sdpa", "flash"]

WORKLOADS: tuple[str, ...] = ("inference", "serve", "full", "lora", "qlora")
TRAINING: frozenset[str] = frozenset({"full", "lora", "qlora"})
FOUR_BIT: frozenset[str] = frozenset({"nf4", "fp4", "gptq-4", "awq-4"})

_ALIASES = {
    "quant": {
        "": "none", "bnb-int8": "int8", "8bit": "int8", "llm.int8": "int8", "int4": "nf4",
        "4bit": "nf4", "bnb-nf4": "nf4", "bnb-4bit": "nf4", "gptq": "gptq-4", "gptq-int4": "gptq-4",
        "gptq-int8": "gptq-8", "awq": "awq-4", "q4_k_m": "gguf-q4_k_m", "q8_0": "gguf-q8_0", "q4-k-m": "gguf-q4_k_m",
        "q8-0": "gguf-q8_0", "gguf-q4-k-m": "gguf-q4_k_m", "gguf-q8-0": "gguf-q8_0",
    },
    "optimizer": {
        "adam": "adamw", "adamw-torch": "adamw", "adamw8bit": "adamw-8bit", "adamw_8bit": "adamw-8bit",
        "8bit-adam": "adamw-8bit", "paged_adamw_8bit": "paged-adamw-8bit", "sgd-nesterov": "sgd-momentum",
    },
    "workload": {"infer": "inference", "serving": "serve", "finetune": "full", "full-ft": "full"},
    "weight_dtype": {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"},
    "offload": {"cpu": "optimizer", "optim": "optimizer", "all": "optimizer+params", "full": "optimizer+params"},
    "loss": {"full": "standard", "ce": "standard", "chunked-ce": "chunked", "liger": "fused-linear",
             "fused": "fused-linear", "linear-ce": "fused-linear"},
    "optimizer_impl": {"multi-tensor": "foreach", "for-loop": "per-tensor", "single-tensor": "per-tensor"},
    "attention": {"flash-attention-2": "flash", "flash-attention": "flash", "flash-attn": "flash",
                  "fa2": "flash", "fa": "flash", "flash-attention-3": "flash", "fa3": "flash",
                  "scaled-dot-product": "sdpa", "torch-sdpa": "sdpa", "manual": "eager",
                  "naive": "eager"},
    "engine": {"transformers": "hf", "huggingface": "hf", "ds": "deepspeed", "llamacpp": "llama.cpp", "llama-cpp": "llama.cpp"},
}


def _canon(field: str, value: object) -> object:
    if isinstance(value, str):
        v = value.strip().lower().replace("_", "-") if field != "engine" else value.strip().lower()
        return _ALIASES.get(field, {}).get(v, _ALIASES.get(field, {}).get(value.strip().lower(), v))
    return value


class EstimateRequest(BaseModel):
    """What to estimate. Everything except the model has a default (see field descriptions)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = Field(default=None, description="catalog name/alias/HF id, a size like '13B'")
    params_b: float | None = Field(default=None, gt=0, le=5000, description="size in billions")
    config_path: str | None = Field(default=None, description="local HF config.json to read")
    workload: Workload = "inference"
    weight_dtype: DType = Field(default="auto", description="auto: bf16 (fp16 on cards without bf16)")
    quant: Quant | None = Field(default=None, description="None: nf4 for qlora, else none")
    double_quant: bool = Field(default=True, description="bnb 4-bit: quantize the block scales")
    kv_cache_dtype: DType = Field(default="auto", description="auto: the weights' 16-bit dtype")
    optimizer: Optimizer = "adamw"
    master_weights: bool | None = Field(
        default=None, description="fp32 master weights (AMP); None: yes for full fine-tuning"
    )
    lora_r: int = Field(default=16, description="LoRA rank")
    lora_targets: str = Field(default="all-linear", description="'all-linear', 'attn' or module list")
    train_embeddings: bool = Field(
        default=False, description="(Q)LoRA: also train embeddings and lm_head (modules_to_save)"
    )
    optimizer_in_backward: bool = Field(
        default=False, description="step each parameter during backward (torchtune): no full grads"
    )
    batch_size: int = Field(default=1, description="micro-batch per GPU (serve: concurrent seqs)")
    seq_len: int | None = Field(default=None, description="tokens per sequence; None: 2048 (serve 8192)")
    new_tokens: int = Field(default=0, ge=0, description="inference: generated tokens within seq_len")
    grad_ckpt: bool = Field(default=True, description="activation (gradient) checkpointing")
    flash_attn: bool = Field(default=True, description="fused attention (FlashAttention/SDPA)")
    attention: Attention = Field(
        default="auto",
        description="attention path: auto (the engine's default; eager when flash_attn=False), "
        "eager (materialized scores), sdpa (torch scaled_dot_product_attention), flash "
        "(FlashAttention-2/3 or the engine's paged kernels)",
    )
    all_logits: bool = Field(
        default=False,
        description="inference: logits for every prompt position (transformers < 4.45, remote code)",
    )
    transformers_version: str = Field(
        default="4.48",
        description="engine=hf inference: before 4.45 generate computed logits for every prompt "
        "position (no logits_to_keep)",
    )
    grad_accum: int = Field(
        default=1, description="gradient accumulation steps: >1 keeps gradients alive during forward"
    )
    loss: Loss = Field(
        default="auto",
        description="auto: the engine's own (hf: full logits; torchtune/litgpt: chunked); "
        "fused-linear: Liger/Unsloth fused linear cross-entropy (no full logits)",
    )
    optimizer_impl: OptimizerImpl = Field(
        default="auto",
        description="auto: hf foreach (adamw_torch), deepspeed/torchtune fused, litgpt foreach",
    )
    activation_offload: bool = Field(
        default=False, description="torchtune enable_activation_offloading: saved activations on the host"
    )
    compile: bool = Field(default=False, description="torch.compile (modelled as the eager graph)")
    gptq_group_size: int = Field(
        default=128, description="GPTQ group size: 32, 64, 128 or -1 (per output channel)"
    )
    gptq_act_order: bool = Field(default=False, description="GPTQ desc_act (act-order)")
    bnb_version: str = Field(
        default="0.45",
        description="bitsandbytes version of a 4-bit (nf4/fp4) run: before 0.43.2 every 4-bit "
        "linear kept its input alive for backward",
    )
    zero_bucket_size: int | None = Field(
        default=None,
        description="DeepSpeed reduce_bucket_size in elements; None: the HF Trainer 'auto' value "
        "(hidden x hidden)",
    )
    gpu: str = Field(default="H100", description="catalog GPU name or alias")
    num_gpus: int = Field(default=1, description="GPUs in the job")
    zero_stage: int = Field(default=0, description="DeepSpeed ZeRO stage 0-3 (FSDP full shard = 3)")
    offload: Offload = "none"
    offload_device: OffloadDevice = Field(default="cpu", description="cpu RAM or NVMe (ZeRO-Infinity)")
    hybrid_shard: bool = Field(
        default=False, description="shard within a node, replicate across nodes (FSDP HYBRID_SHARD)"
    )
    gpus_per_node: int = Field(default=8, description="GPUs per node (hybrid sharding)")
    sequence_parallel: bool = Field(
        default=False, description="Megatron sequence parallel: norm/dropout activations split by tp"
    )
    tensor_parallel: int = Field(default=1, description="tensor-parallel degree")
    pipeline_parallel: int = Field(default=1, description="pipeline-parallel degree")
    engine: Engine | None = Field(default=None, description="None: vllm for serve, else hf")
    gpu_memory_utilization: float = Field(default=0.9, description="vLLM pool fraction")
    max_num_batched_tokens: int = Field(default=8192, description="vLLM prefill chunk")

    @field_validator(
        "workload", "quant", "optimizer", "weight_dtype", "offload", "engine", "kv_cache_dtype",
        "loss", "optimizer_impl", "attention", mode="before",
    )
    @classmethod
    def _normalise(cls, value: object, info: object) -> object:
        field = getattr(info, "field_name", "")
        return _canon("weight_dtype" if field == "kv_cache_dtype" else field, value)
