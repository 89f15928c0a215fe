"""Developer script: import the measured rows of shared/calibration/measured.jsonl that the
estimator can model into tools/estimator/data/calibration.jsonl (facts with their source URLs).

Run from the project root: ``python scripts/import_calibration.py ../shared/calibration/measured.jsonl``.

Each output row keeps id, source_url, source_group, quality, quote, measured_gib and the measured
component, plus:
- ``request``: the EstimateRequest fields that reproduce the measured configuration, filled from
  the row and, where the row is silent, from the source's documented framework defaults (below);
- ``metric``: which estimate output is the like-for-like comparison:
  peak_allocated (torch max_memory_allocated), reserved (allocated + allocator slack: used for
  framework tables whose method is not stated), total (nvidia-smi / process memory incl. the CUDA
  context), weights (weights only), kv_pool (vLLM KV cache);
- or ``skip``: why the row cannot be modelled (kept so the count of modelled rows is honest).
"""

from __future__ import annotations

import json
import sys
from typing import Any

METRIC = {
    "peak_allocated": "peak_allocated", "max_allocated_during_generation": "peak_allocated",
    "prefill_peak_allocated": "peak_allocated", "peak_allocated_sum_over_gpus": "peak_allocated",
    "peak_reserved_training": "reserved",
    "process_memory_incl_context": "total", "peak_process_incl_context": "total",
    "weights_only_per_gpu": "weights", "loaded_model_memory": "weights",
    "weights_buffer_on_gpu (all 49/49 layers offloaded)": "weights",
    "kv_cache_allocated_per_gpu (derived from block count)": "kv_pool",
}
# framework tables that do not say how they measured: compare with allocated + allocator slack
TABLE = "total"

# per source group: engine and the framework defaults the row leaves unstated
GROUP: dict[str, dict[str, Any]] = {
    "litgpt-resource-tables": {"engine": "litgpt", "grad_ckpt": False, "flash_attn": True},
    "litgpt-finetune-lora-precision": {"engine": "litgpt", "grad_ckpt": False, "flash_attn": True},
    "litgpt-dataset-truncation": {"engine": "litgpt", "grad_ckpt": False, "flash_attn": True},
    "litgpt-quantize-falcon7b": {"engine": "litgpt", "flash_attn": True, "seq_len": 262},
    "torchtune-readme-llama3.1": {"engine": "torchtune", "grad_ckpt": True},
    "torchtune-readme-2024-05": {"engine": "torchtune", "grad_ckpt": True},
    "torchtune-readme-2024-04-llama2-7b": {"engine": "torchtune", "grad_ckpt": True},
    "torchtune-tutorial-lora": {"engine": "torchtune", "grad_ckpt": True},
    "qwen1-finetune-profile": {"engine": "hf"},
    "qwen25-speed-benchmark-a100": {"engine": "hf", "flash_attn": True},
    # transformers of late 2023 (remote code / Llama): eager attention, logits for every position
    "deepseek-llm-memory-profile": {"engine": "hf", "flash_attn": False, "all_logits": True},
    "qwen1-kvcache-quant": {"engine": "hf", "flash_attn": True, "all_logits": True},
    "qwen1-inference-a100": {"engine": "hf", "flash_attn": True},
    "chatglm2-readme": {"engine": "hf", "flash_attn": True, "all_logits": True},
    "gptq-for-llama-readme": {"engine": "hf", "flash_attn": False},
    "deepspeed-llama7b-gist-a800": {"engine": "deepspeed", "flash_attn": True},
    "baichuan2-readme": {"engine": "hf"},
    "vllm-issue-logs": {"engine": "vllm"},
    "misc-issue-nvidia-smi": {"engine": "hf"},
    "optimum-benchmark-report": {"engine": "hf"},
    # ms-swift 1.x docs: max_length defaults to 2048; models load in bf16 (pure bf16 training)
    "ms-swift-tuners": {"engine": "hf", "flash_attn": True, "seq_len": 2048},
    "llamacpp-logs": {"engine": "llama.cpp"},
}

QUANT = {
    "none": "none", "nf4": "nf4", "nf4-dq": "nf4", "fp4": "fp4", "gptq-4": "gptq-4",
    "gptq-4 g128": "gptq-4", "gptq-8": "gptq-8", "gptq-3": "gptq-3", "gptq-3 g128": "gptq-3", "awq-4": "awq-4",
    "int8 (bnb, online quantize)": "int8", "int8 (bnb LLM.int8)": "int8", "int8 (bnb)": "int8",
    "nf4? (bnb 4-bit, online quantize)": "nf4", "nf4 (unsloth bnb-4bit)": "nf4",
    "int8 (FastChat 8-bit compression)": "int8",
    # ChatGLM's weight-only kernels: int8/int4 with one fp16 scale per output row; modelled with the
    # int8 and GPTQ-4 layouts (GPTQ's group-128 scales add ~4% to the 4-bit payload)
    "int8 (chatglm weight-only)": "int8", "int4 (chatglm weight-only)": "gptq-4",
}
OPTIM = {
    "adamw": "adamw", "adamw (DeepSpeed)": "adamw", "paged-adamw": "paged-adamw",
    "paged-adamw-8bit": "paged-adamw-8bit", "paged-adamw (bnb, 32-bit states)": "paged-adamw",
    "adamw(fused, cpu-offload)": "adamw",
}


def gpu_name(raw: str | None) -> str:
    """Map the row's GPU text to a catalog alias (None: the A100 80GB most rows used)."""
    if not raw:
        return "A100-SXM4-80GB"
    text = raw.split(" (")[0] if "A100 (" not in raw and "A800 (" not in raw else raw
    table = {
        "A100-SXM4-80G": "A100-SXM4-80GB", "A100 80GB": "A100-SXM4-80GB", "A100-80GB": "A100-SXM4-80GB",
        "A100": "A100-SXM4-80GB", "A100 (80GB)": "A100-SXM4-80GB", "A800 (80GB)": "A800",
        "H100 80GB": "H100", "Tesla V100-SXM2-16GB": "V100", "A100 40GB": "A100-SXM4-40GB",
        "A100 (per resource-tables)": "A100-SXM4-40GB",
        "A100-SXM4-40GB (per resource-tables)": "A100-SXM4-40GB",
        "A100 (80GB assumed by torchtune recipes; not stated)": "A100-SXM4-80GB",
    }
    return table.get(raw, table.get(text, text))


def convert(r: dict[str, Any]) -> dict[str, Any]:
    """One calibration row -> request + metric, or a skip reason."""
    out = {k: r.get(k) for k in ("id", "source_url", "source_group", "quality", "quote",
                                 "measured_gib", "measured_component", "workload", "notes")}
    group = GROUP.get(r["source_group"])
    if r["workload"] not in ("inference", "full", "lora", "qlora"):
        return {**out, "skip": f"workload '{r['workload']}' (adapter/other methods) is not modelled"}
    if group is None:
        return {**out, "skip": "source group has no documented framework defaults"}
    if not r.get("model"):
        return {**out, "skip": "model not stated"}
    comp = r["measured_component"]
    metric = METRIC.get(comp, TABLE)
    if r["source_group"].startswith("torchtune") and metric == TABLE:
        metric = "reserved"  # torchtune logs torch.cuda memory stats, not nvidia-smi
    if comp in ("cuda_context_and_kernels", "weights_plus_context"):
        return {**out, "skip": f"component '{comp}' is not an estimate output"}
    quant = QUANT.get(r.get("quant") or "none")
    if quant is None:
        return {**out, "skip": f"quantization '{r['quant']}' is not modelled"}
    training = r["workload"] in ("full", "lora", "qlora")
    if r["source_group"] == "deepspeed-llama7b-gist-a800":
        return {**out, "skip": "quality C: which of the two figures is the peak is an interpretation, "
                               "and runs with identical stated settings differ 1.6x "
                               "(ds-gist-llama7b-z3-gc1-none-zpp0-bs8-1 vs -bs8-9)"}
    if r["source_group"].startswith("litgpt") and (r.get("num_gpus") or 1) > 1:
        return {**out, "skip": "lit-gpt multi-GPU LoRA: per-GPU memory neither falls with FSDP "
                               "sharding nor grows with micro-batch as the single-GPU runs do "
                               "(Llama-2-7B 19.8 -> 27.1 GiB for bs 1 -> 2 on one GPU, "
                               "20.7 -> 20.9 on two); the setup actually run is not documented"}
    if "lisa" in r["id"]:
        return {**out, "skip": "LISA (training 2 sampled layers) is not modelled"}
    if r["source_group"] in ("torchtune-readme-2024-05", "torchtune-readme-2024-04-llama2-7b"):
        return {**out, "skip": "seq_len is only the truncation cap of unpacked Alpaca samples; "
                               "the real (shorter) lengths are not stated"}
    if "not stated" in (r.get("notes") or "") and r["source_group"].startswith("torchtune-readme-llama3.1"):
        return {**out, "skip": "the source does not state the settings of this run"}
    if "unsloth" in (r.get("framework") or ""):
        return {**out, "skip": "Unsloth's fused kernels and offloaded checkpoints are not modelled"}
    if r.get("optimizer") == "galore-adamw":
        return {**out, "skip": "GaLore is not modelled"}
    if training and metric != "weights" and (not (r.get("seq_len") or group.get("seq_len"))
                                             or not r.get("batch_size")):
        return {**out, "skip": "training row without batch size or sequence length"}
    workload = "serve" if group.get("engine") == "vllm" else r["workload"]
    req: dict[str, Any] = {"model": r["model"].split(" (")[0], "workload": workload,
                           "gpu": gpu_name(r.get("gpu"))}
    for key in ("engine", "grad_ckpt", "flash_attn", "all_logits", "seq_len"):
        if key in group:
            req[key] = group[key]
    if r.get("grad_ckpt") is not None:
        req["grad_ckpt"] = bool(r["grad_ckpt"])
    if r.get("flash_attn") is not None:
        req["flash_attn"] = bool(r["flash_attn"])
    if r.get("seq_len"):
        req["seq_len"] = int(r["seq_len"])
    if r.get("batch_size"):
        req["batch_size"] = int(r["batch_size"])
    extra = r.get("extra") or {}
    if extra.get("output_len") and r.get("seq_len"):
        req["new_tokens"] = int(extra["output_len"])
    if comp.startswith("min_memory_to_generate"):
        req["new_tokens"] = max(0, req.get("seq_len", 2048) - 8)  # generation from a short prompt
    if r["source_group"] in ("gptq-for-llama-readme", "qwen1-inference-a100"):
        req["new_tokens"] = max(0, req.get("seq_len", 2048) - 8)  # generation from a short prompt
    if extra.get("kv_cache_dtype") == "int8":
        req["kv_cache_dtype"] = "fp8"  # 1-byte cache (int8 with per-token scales)
    if r.get("quant") not in (None, "none"):
        req["quant"] = quant
        req["double_quant"] = r["quant"] == "nf4-dq"
    wd = r.get("weight_dtype") or "bf16"
    if "bf16-mixed" in wd:
        req["weight_dtype"] = "fp32"
        req["master_weights"] = True  # litgpt bf16-mixed: fp32 parameters, bf16 autocast
    elif wd.startswith("fp32"):
        req["weight_dtype"] = "fp32"
    elif wd.startswith("fp16"):
        req["weight_dtype"] = "fp16"
    elif wd == "bf16":
        req["weight_dtype"] = "bf16"
    if training:
        req["optimizer"] = OPTIM.get(r.get("optimizer") or "adamw", "adamw")
        if r.get("lora_r"):
            req["lora_r"] = int(r["lora_r"])
        if r.get("lora_targets"):
            req["lora_targets"] = _targets(r["lora_targets"])
        if r["workload"] == "full" and "master_weights" not in req:
            req["master_weights"] = _master(r)
        if r["workload"] == "full" and r["source_group"] == "qwen1-finetune-profile":
            req["engine"] = "deepspeed"  # Qwen finetune_ds.sh: full fine-tuning always runs DeepSpeed
        if r["source_group"] == "qwen1-finetune-profile":
            req["grad_accum"] = 8  # Qwen README profiling: "batch size of 1 and gradient accumulation of 8"
        if r["source_group"] == "qwen1-finetune-profile" and r["workload"] == "qlora":
            # Qwen finetune/finetune_qlora_single_gpu.sh: --fp16 --deepspeed finetune/ds_config_zero2.json
            # (stage 2, reduce_bucket_size 2e8, overlap_comm and contiguous_gradients on)
            req["engine"] = "deepspeed"
            req["zero_stage"] = 2
            req["zero_bucket_size"] = 200_000_000
        # Open: Qwen's 1.8B full-parameter rows ran finetune/finetune_ds.sh, i.e. ZeRO-3 on one GPU
        # (--deepspeed finetune/ds_config_zero3.json). Mapped to zero_stage=3 the estimate is ~16%
        # low (an unexplained ~9 GiB at the optimizer step); they stay mapped as before (DeepSpeed,
        # no sharding) until single-GPU ZeRO-3 is modelled. See README "Accuracy".
        if r["source_group"] == "litgpt-resource-tables" and req.get("quant") in ("nf4", "fp4"):
            req["bnb_version"] = "0.41.1"  # tutorials/resource-tables.md: "Bitsandbytes 0.41.1"
        if "-emb-" in r["id"]:
            req["train_embeddings"] = True  # Qwen --lora with embeddings/lm_head in modules_to_save
        if r["workload"] == "full" and r["source_group"].startswith("torchtune") and (r.get("num_gpus") or 1) == 1:
            req["optimizer_in_backward"] = True  # torchtune single-device full recipes: optimizer_in_bwd
    n = int(r.get("num_gpus") or 1)
    stage = r.get("zero_stage")
    offload = r.get("offload") or "none"
    off = {"optimizer": "optimizer", "param+optimizer": "optimizer+params",
           # torchtune fsdp_cpu_offload: FSDP CPUOffload moves parameters, grads and optimizer
           "optimizer(cpu)": "optimizer+params",
           "optimizer(paged,unified-memory)": "none"}.get(offload, "none")
    if n > 1:
        req["num_gpus"] = n
        if training:
            if r["source_group"].startswith("litgpt"):
                # lit-gpt @8641822 multi-GPU LoRA: FSDP-wrapped Blocks with activation
                # checkpointing; the frozen base stayed whole on every GPU (per-GPU memory
                # does not fall with more GPUs in the source table)
                req["grad_ckpt"] = True
            elif r["source_group"].startswith("torchtune") or stage == 3:
                req["zero_stage"] = 3  # torchtune multi-GPU = FSDP full shard
            elif stage:
                req["zero_stage"] = int(stage)
        elif group.get("engine") == "hf":
            req["pipeline_parallel"] = n  # device_map="auto": layers split over the GPUs
        else:
            req["tensor_parallel"] = n
    elif stage and off != "none":
        req["zero_stage"] = int(stage)
    req["offload"] = off
    return {**out, "request": req, "metric": metric}


def _targets(text: str) -> str:
    t = text.lower()
    if t.startswith("all") or "mlp" in t and "q" in t:
        return "all-linear"
    mapped = [x.strip() for x in t.replace("(", ",").replace(")", ",").split(",") if x.strip()]
    keep = [x for x in mapped if x in {"q_proj", "k_proj", "v_proj", "o_proj", "query", "value", "key",
                                       "c_attn", "c_proj", "w1", "w2", "w3", "output_proj", "dense",
                                       "gate_proj", "up_proj", "down_proj", "query_key_value"}]
    return ",".join(keep) or "all-linear"


def _master(r: dict[str, Any]) -> bool:
    """Full fine-tuning precision: torchtune/litgpt train in pure bf16; DeepSpeed/HF use AMP."""
    g = r["source_group"]
    if g.startswith(("torchtune", "litgpt", "ms-swift")):
        return False
    return True


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    with open("tools/estimator/data/calibration.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(convert(r), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
