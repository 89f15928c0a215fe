"""Typed argument schemas of the assistant's tools (what the LLM sees as JSON schema).

Field descriptions are written for the model; enums list the accepted values. The same models
validate the offline composer's calls, so both modes call the tools identically.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

Workload = Literal["inference", "serve", "full", "lora", "qlora"]
Quant = Literal["none", "int8", "nf4", "fp4", "gptq-3", "gptq-4", "gptq-8", "awq-4", "fp8",
                "gguf-q4_k_m", "gguf-q8_0"]


def _canon(value: object) -> object:
    """Lower-case; 'paged_adamw_8bit' -> 'paged-adamw-8bit' (GGUF names keep their '_')."""
    if not isinstance(value, str):
        return value
    value = value.strip().lower()
    return value if value.startswith("gguf") else value.replace("_", "-")


class GpuArgs(BaseModel):
    """Which GPUs: a catalog name, or the memory of a card that is not in the catalog."""

    gpu: str = Field(default="H100", description="Catalog GPU name, e.g. 'A10', 'RTX 4090', "
                     "'A100 40GB', 'H100'; 'local' for the machine the assistant runs on; "
                     "'pasted' for the GPUs of the last read_gpu_paste")
    gpu_memory_gb: float | None = Field(default=None, gt=0, le=4096, description=(
        "Memory of a GPU that is not in the catalog, in GB (e.g. 8 for 'an 8 GB card'); "
        "replaces gpu"))
    num_gpus: int = Field(default=1, ge=1, le=1024, description="Number of GPUs")
    seq_len: int | None = Field(default=None, ge=1, le=10_000_000, description=(
        "Tokens per sequence (prompt + output); default 2048, serve: min(context, 8192)"))


class EstimateArgs(GpuArgs):
    """Arguments of estimate_memory."""

    model: str = Field(description="Catalog name or Hugging Face id ('llama-3-8b', "
                       "'Qwen/Qwen2.5-14B') or a bare size such as '13B'")
    workload: Workload = Field(description="inference (HF generate), serve (vLLM-style server), "
                               "full (full fine-tuning), lora or qlora")
    batch_size: int = Field(default=1, ge=1, le=65536, description=(
        "Micro-batch per GPU; for serve the number of concurrent sequences (users)"))
    quant: Quant | None = Field(default=None, description="Weight quantization; default nf4 for "
                                "qlora, none otherwise")
    weight_dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    kv_cache_dtype: Literal["auto", "bf16", "fp16", "fp8"] = "auto"
    optimizer: Literal["adamw", "adamw-8bit", "paged-adamw-8bit", "paged-adamw", "sgd",
                       "sgd-momentum", "adafactor"] = "adamw"
    zero_stage: int | None = Field(default=None, ge=0, le=3, description=(
        "DeepSpeed ZeRO stage (FSDP full shard = 3); default: 3 when training on several GPUs"))
    offload: Literal["none", "optimizer", "optimizer+params"] = "none"
    tensor_parallel: int | None = Field(default=None, ge=1, le=64, description=(
        "Tensor-parallel degree; default: all GPUs when serving on several GPUs"))
    engine: Literal["hf", "deepspeed", "vllm", "sglang", "llama.cpp", "torchtune",
                    "litgpt"] | None = None
    grad_ckpt: bool = Field(default=True, description="Gradient checkpointing (training)")
    flash_attn: bool = Field(default=True, description=(
        "Fused attention (FlashAttention/SDPA); false = eager attention materializing s x s scores"))
    lora_r: int | None = Field(default=None, ge=1, le=4096, description="LoRA rank; default 16")

    @field_validator("quant", "weight_dtype", "kv_cache_dtype", "optimizer", "offload",
                     mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return _canon(value)


class FitArgs(GpuArgs):
    """Arguments of check_fit."""

    model: str = Field(description="Catalog name, Hugging Face id or a bare size such as '13B'")
    workloads: list[Workload] = Field(
        default=["full", "lora", "qlora", "inference", "serve"],
        description="The workloads the user asks about (e.g. ['full','lora','qlora'] for "
        "'can I fine-tune'); all five by default")
    quant: Quant | None = Field(default=None, description=(
        "Weight quantization for the inference/serve rows (e.g. 'awq-4', 'q4_k_m')"))
    engine: Literal["hf", "deepspeed", "vllm", "sglang", "llama.cpp", "torchtune",
                    "litgpt"] | None = None
    kv_cache_dtype: Literal["auto", "bf16", "fp16", "fp8"] | None = None


class SearchArgs(BaseModel):
    """Arguments of search_guide."""

    query: str = Field(min_length=2, description="What to look up, in English or Chinese")
    k: int = Field(default=3, ge=1, le=8, description="How many sections to return")
    lang: Literal["en", "zh"] | None = Field(default=None, description=(
        "Language of the sections to prefer: 'zh' for a Chinese answer; default: the query's"))


class PasteArgs(BaseModel):
    """Arguments of read_gpu_paste."""

    text: str = Field(min_length=8, description="Output of nvidia-smi (table, --query-gpu csv or "
                      "-L) or rocm-smi --json, exactly as the user pasted it")


class NoArgs(BaseModel):
    """No arguments."""


class WhichArgs(GpuArgs):
    """Arguments of models_for_gpu."""

    workload: Literal["inference", "serve"] = Field(default="inference", description=(
        "inference (one user) or serve (vLLM-style server)"))
    top: int = Field(default=3, ge=1, le=10, description="Models to list per weight format")


class PlanArgs(BaseModel):
    """Arguments of plan_gpus."""

    model: str = Field(description="Catalog name, Hugging Face id or a bare size such as '70B'")
    goal: Literal["fine-tune", "pre-train", "serve", "inference"] = Field(
        default="fine-tune", description="What to do with the model")
    gpus: list[str] | None = Field(default=None, description=(
        "GPU types to consider (catalog names); default a common set from T4 to H200"))
    max_gpus: int = Field(default=64, ge=1, le=1024, description="Most GPUs of one type")
    objective: Literal["fewest_gpus", "cheapest", "fastest", "quality", "smallest_gpu"] = "fewest_gpus"
    users: int = Field(default=1, ge=1, le=100_000, description="serve: concurrent sequences")
    methods: list[Workload] | None = Field(default=None, description=(
        "Keep only these methods (e.g. ['lora'] when the user asked about LoRA)"))
    quant: Quant | None = Field(default=None, description=(
        "serve/inference: keep only this weight quantization ('none' for 16-bit weights)"))
    seq_len: int | None = Field(default=None, ge=1, le=10_000_000, description="tokens per sequence")
