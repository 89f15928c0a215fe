"""The deterministic question parser (English and Chinese) and follow-up merging."""

from __future__ import annotations

import pytest

from assistant.ask import merge
from assistant.parse import parse, split_paste


@pytest.mark.parametrize(("question", "expected"), [
    ("Can I fine-tune a 13B model on one A10?",
     {"model": "13B", "gpu": "a10", "num_gpus": 1, "workloads": ["full", "lora", "qlora"],
      "intent": "fit"}),
    ("Can I LoRA fine-tune Llama-2-13B in bf16 on a single A10?",
     {"model": "llama-2-13b", "workloads": ["lora"], "weight_dtype": "bf16"}),
    ("Can I full fine-tune Llama-2-13B with DeepSpeed ZeRO-3 on 8x A100 80GB?",
     {"gpu": "a100-80gb-sxm4", "num_gpus": 8, "zero_stage": 3, "engine": "deepspeed",
      "workloads": ["full"]}),
    ("Can I serve Llama-3-8B to 50 concurrent users with 4k context on an A10?",
     {"workloads": ["serve"], "users": 50, "seq_len": 4096}),
    ("Can I serve Llama-3-8B with a 128k context on a single A10?", {"seq_len": 131072}),
    ("Will Llama-3-70B fit on two RTX 4090s in fp16?",
     {"gpu": "rtx-4090", "num_gpus": 2, "weight_dtype": "fp16", "workloads": ["inference"]}),
    ("Does 4-bit quantization make a 70B model fit in 24 GB?",
     {"model": "70B", "quant": "nf4", "gpu_memory_gb": 24.0, "gpu": None}),
    ("Can I run Mixtral-8x7B in 4-bit on a single A100 80GB?",
     {"model": "mixtral-8x7b", "quant": "nf4"}),
    ("what if I use fp8 kv cache?", {"kv_cache_dtype": "fp8", "quant": None}),
    ("What is the KV cache of Qwen2.5-7B at 32k?", {"seq_len": 32768, "intent": "number"}),
    ("What's the memory for full fine-tuning a 1B model with AdamW?", {"intent": "number"}),
    ("serve Llama-3.1-70B in fp8 with an fp8 kv cache", {"kv_cache_dtype": "fp8", "quant": "fp8"}),
    ("Is 24GB enough to QLoRA Llama-3.1-70B?", {"gpu_memory_gb": 24.0, "workloads": ["qlora"]}),
    ("Can I fine-tune Phi-3-mini on a laptop RTX 4060 8GB?", {"gpu_memory_gb": 8.0}),
    ("fine-tune 70B on 2x A100s with tp=2 batch size 4",
     {"num_gpus": 2, "tensor_parallel": 2, "batch_size": 4}),
    ("Can I full fine-tune Llama-3-8B with 8-bit Adam on an H100?",
     {"optimizer": "adamw-8bit", "quant": None}),
    ("Can I run Llama-3-70B with llama.cpp Q4_K_M on an M3 Max?",
     {"quant": "gguf-q4_k_m", "engine": "llama.cpp", "gpu": "apple-m3-max-gpu-unified-memory"}),
])
def test_english_questions(question: str, expected: dict[str, object]) -> None:
    ask = parse(question)
    for key, value in expected.items():
        assert getattr(ask, key) == value, (key, ask)


@pytest.mark.parametrize(("question", "expected"), [
    ("单卡RTX 4090能用QLoRA微调Qwen2.5-14B吗?",
     {"model": "qwen2.5-14b", "gpu": "rtx-4090", "num_gpus": 1, "workloads": ["qlora"],
      "lang": "zh"}),
    ("70B模型在一张A100 80G上用FP16推理可以吗?",
     {"model": "70B", "gpu": "a100-80gb-sxm4", "weight_dtype": "fp16",
      "workloads": ["inference"]}),
    ("8卡H100全参微调Llama-3-8B，用ZeRO-3，可以吗?",
     {"num_gpus": 8, "workloads": ["full"], "zero_stage": 3}),
    ("用两张4090能跑Qwen2.5-72B的4bit量化吗?", {"num_gpus": 2, "quant": "nf4"}),
    ("一张L4能部署Llama-3-8B给50个并发用户用8k上下文吗?",
     {"users": 50, "seq_len": 8192, "workloads": ["serve"]}),
    ("24G显存能QLoRA微调70B模型吗?", {"gpu_memory_gb": 24.0, "model": "70B"}),
    ("130亿参数的模型能在A10上推理吗?", {"model": "13B"}),
])
def test_chinese_questions(question: str, expected: dict[str, object]) -> None:
    ask = parse(question)
    for key, value in expected.items():
        assert getattr(ask, key) == value, (key, ask)


@pytest.mark.parametrize(("question", "intent", "target", "missing"), [
    ("How much memory does the KV cache of Llama-3-8B take at 8k context in bf16?", "number",
     "kv_cache", []),
    ("What does ZeRO stage 2 shard?", "explain", None, []),
    ("什么是梯度检查点?它能省多少显存?", "explain", None, []),
    ("Can I run it on my GPU?", "fit", None, ["model"]),  # "my GPU": the pipeline probes
    ("Can I fine-tune Llama-3-8B?", "fit", None, ["gpu"]),
    ("Can I run Llama 3 on a 4090?", "fit", None, ["model_size"]),
    ("How much VRAM do I need for fine-tuning?", "number", "total", ["model"]),
    ("我的显卡能跑吗?", "fit", None, ["model"]),
    ("Which GPU do I need to fine-tune Llama-3-70B?", "plan", None, []),
    ("How many H100s do I need to serve Llama-3.1-405B?", "plan", None, []),
    ("微调Qwen2.5-72B需要什么显卡?", "plan", None, []),
    ("What GPU is best for training?", "plan", None, ["model"]),
])
def test_intent_and_what_is_missing(question: str, intent: str, target: str | None,
                                    missing: list[str]) -> None:
    ask = merge(None, parse(question))
    assert (ask.intent, ask.target, ask.missing()) == (intent, target, missing)


def test_follow_ups_reuse_what_is_known() -> None:
    first = merge(None, parse("Can I LoRA fine-tune Llama-2-13B on one A10?"))
    two = merge(first, parse("what about two of them?"))
    assert (two.model, two.gpu, two.num_gpus, two.workloads) == (
        "llama-2-13b", "a10", 2, ["lora"])
    longer = merge(two, parse("and with 8k context?"))
    assert (longer.num_gpus, longer.seq_len, longer.intent) == (2, 8192, "fit")
    zh = merge(first, parse("那全参微调呢?"))
    assert (zh.model, zh.workloads) == ("llama-2-13b", ["full"])


def test_answer_to_a_clarifying_question_completes_it() -> None:
    pending = merge(None, parse("Can I fine-tune Llama-3-8B?"))
    assert pending.missing() == ["gpu"]
    done = merge(pending, parse("On an RTX 4090."))
    assert (done.model, done.gpu, done.workloads, done.missing()) == (
        "llama-3-8b", "rtx-4090", ["full", "lora", "qlora"], [])


def test_a_new_full_question_starts_fresh() -> None:
    first = merge(None, parse("Can I serve Llama-3-8B with 32k context on an A10?"))
    fresh = merge(first, parse("Can I QLoRA Qwen2.5-7B on a T4?"))
    assert (fresh.seq_len, fresh.workloads, fresh.gpu) == (None, ["qlora"], "t4")


def test_explanations_do_not_disturb_the_conversation() -> None:
    first = merge(None, parse("Can I QLoRA Qwen2.5-7B on a T4?"))
    assert merge(first, parse("What is NF4?")).intent == "explain"


def test_split_paste_separates_question_and_tool_output() -> None:
    message = ("can I serve llama-3-8b on these?\n"
               "name, memory.total [MiB], memory.used [MiB]\nNVIDIA A10, 23028 MiB, 10 MiB\n")
    question, paste = split_paste(message)
    assert question == "can I serve llama-3-8b on these?"
    assert paste.startswith("name, memory.total")
    assert split_paste("no paste here") == ("no paste here", "")
