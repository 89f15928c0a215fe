"""A small bilingual glossary: English and Chinese surface forms of the guide's concepts.

Both the lexical index and the offline embedding add a shared concept token (``~name``) when a
text mentions any form of a concept, so "梯度检查点" and "activation recomputation" meet on
``~checkpointing``. Forms are matched in NFKC-normalised, lower-cased text: Chinese forms as
substrings, Latin forms as whole words, or as word prefixes when they end in ``*``
("quantiz*" matches "quantization"). This is data: extend it when a question misses for want of
a synonym.
"""

from __future__ import annotations

import re

CONCEPTS: dict[str, tuple[str, ...]] = {
    "checkpointing": (
        "gradient checkpointing", "activation checkpointing", "activation recomputation",
        "recompute*", "recomputation", "梯度检查点", "激活检查点", "重计算", "重算",
    ),
    "optimizer": ("optimizer*", "optimiser*", "adamw", "adam", "优化器"),
    "optimizer_states": ("optimizer state*", "moment*", "优化器状态", "动量", "二阶矩"),
    "gradient": ("gradient*", "梯度"),
    "activation": ("activation*", "激活"),
    "weights": ("weights", "parameters", "权重", "参数"),
    "quantization": ("quantiz*", "quantis*", "量化"),
    "mixed_precision": ("mixed precision", "mixed-precision", "autocast", "torch.amp", "混合精度"),
    "master_weights": ("master weight*", "master cop*", "fp32 copy", "主权重", "fp32 副本"),
    "tensor_parallel": ("tensor parallel*", "tensor-parallel*", "张量并行"),
    "pipeline_parallel": ("pipeline parallel*", "pipeline-parallel*", "流水线并行", "管道并行"),
    "sequence_parallel": (
        "sequence parallel*", "context parallel*", "ring attention", "ulysses", "序列并行",
        "上下文并行",
    ),
    "data_parallel": ("data parallel*", "data-parallel*", "ddp", "数据并行"),
    "moe": ("mixture of experts", "mixture-of-experts", "moe", "expert*", "专家"),
    "kv_cache": ("kv cache", "kv-cache", "kv_cache", "key-value cache", "键值缓存"),
    "fine_tuning": ("fine-tun*", "finetun*", "fine tun*", "微调"),
    "training": ("train*", "fine-tun*", "finetun*", "fine tun*", "训练", "微调"),
    "inference": ("inference", "serving", "serve", "推理", "部署", "服务化"),
    "offload": ("offload*", "卸载", "cpu 内存", "nvme"),
    "sharding": ("shard*", "partition*", "切分", "分片", "划分"),
    "oom": ("out of memory", "outofmemory*", "oom", "ooms", "显存不足", "爆显存", "内存不足", "溢出"),
    "context_length": (
        "context length*", "context window*", "sequence length*", "max_model_len", "seq len",
        "上下文长度", "序列长度", "长上下文", "上下文窗口",
    ),
    "batch": ("batch*", "micro-batch*", "批大小", "批次", "批量"),
    "half_precision": ("fp16", "bf16", "bfloat16", "float16", "half precision", "半精度"),
    "int8": ("int8", "8-bit", "8 bit", "8位", "8 位", "八位"),
    "int4": ("int4", "4-bit", "4 bit", "4位", "4 位", "四位", "nf4"),
    "fp8": ("fp8", "e4m3", "e5m2"),
    "gpu_choice": (
        "which gpu*", "choose a gpu", "choosing a gpu", "buy*", "选卡", "选择", "选购", "购买",
        "买什么", "哪张卡", "哪块",
    ),
    "myth": ("myth*", "misconception*", "误区", "误解", "谣言", "说法"),
    "attention": ("attention", "注意力"),
    "flash_attention": ("flashattention", "flash attention", "flash-attn", "flash_attention"),
    "lora": ("lora", "low-rank", "低秩"),
    "rank": ("rank", "ranks", "秩"),
    "adapter": ("adapter*", "适配器"),
    "paged": ("paged", "分页", "unified memory", "统一内存"),
    "double_quant": ("double quant", "双重量化", "二次量化"),
    "cuda_graph": ("cuda graph*", "cudagraph*", "cuda 图", "cuda图", "enforce_eager", "enforce-eager"),
    "utilization": ("gpu_memory_utilization", "gpu-memory-utilization", "显存利用率", "mem-fraction"),
    "nvidia_smi": ("nvidia-smi", "nvidia smi", "nvml"),
    "fragmentation": ("fragment*", "碎片"),
    "communication": ("communicat*", "all-reduce", "allreduce", "all-gather", "nccl", "通信"),
    "preallocation": ("pre-allocat*", "preallocat*", "reserves", "预分配", "预留", "占满"),
    "overhead": ("overhead", "开销", "额外占用"),
    "cuda_context": ("cuda context", "cuda 上下文", "cuda上下文"),
    "vocabulary": ("vocab*", "logits", "词表", "词汇表"),
    "gguf": ("gguf", "llama.cpp", "k-quant", "q4_k", "q8_0"),
    "gptq_awq": ("gptq", "awq", "group size", "group_size", "分组"),
    "consumer_gpu": ("4090", "3090", "rtx", "consumer*", "消费级", "游戏卡"),
    "zero": ("zero-1", "zero-2", "zero-3", "zero stage", "zero++", "deepspeed", "zero 1", "zero 2",
             "zero 3"),
    "fsdp": ("fsdp*", "fully sharded", "full_shard", "shard_grad_op", "完全分片"),
    "mla": ("mla", "multi-head latent", "latent attention", "潜在注意力", "kv_lora_rank"),
    "gqa": ("gqa", "grouped-query", "grouped query", "mqa", "multi-query", "分组查询"),
    "memory_estimate": (
        "how much memory", "how much vram", "memory footprint", "estimat*", "估算", "多少显存",
        "需要多少", "占多少",
    ),
}


_CJK_FORM = re.compile(r"[\u3400-\u9fff]")


def _pattern(forms: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for form in forms:
        prefix = form.endswith("*")
        body = re.escape(form.rstrip("*"))
        if _CJK_FORM.search(form):
            parts.append(body)
        else:
            parts.append(rf"(?<![a-z0-9]){body}" + ("" if prefix else r"(?![a-z0-9])"))
    return re.compile("|".join(parts))


_PATTERNS = {name: _pattern(forms) for name, forms in CONCEPTS.items()}


def concept_tokens(normalized_text: str) -> list[str]:
    """Concept tokens (``~name``) for every concept a normalised text mentions."""
    return [f"~{name}" for name, pattern in _PATTERNS.items() if pattern.search(normalized_text)]
