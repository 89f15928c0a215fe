"""Conversation and planning behaviours found on the blind tune half (issue 12): each test states
the behaviour a user relies on, so each can fail when that behaviour breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.db import Database, sqlite_url
from assistant.memory import ConversationStore
from assistant.parse import parse
from tools.estimator.plan import plan
from tools.estimator.which import models_that_fit


def _chat(tmp_path: Path, *questions: str) -> list:
    a = Assistant(store=ConversationStore(Database(sqlite_url(tmp_path / "h.sqlite3"))),
                  backend="offline")
    return [a.ask(q, "c") for q in questions]


@pytest.mark.parametrize(("text", "seq"), [("what about 8k?", 8192), ("and 16k", 16384),
                                            ("回到 2k，不开检查点呢", 2048), ("8k 呢", 8192)])
def test_a_follow_up_naming_only_a_length_sets_the_length(text: str, seq: int) -> None:
    assert parse(text).seq_len == seq


@pytest.mark.parametrize(("text", "rank"), [
    ("LoRA rank 从 16 提到 64，显存多多少？Llama-3.1-8B", 64),
    ("rank from 16 to 64 on llama 3.1 8b", 64),
    ("How much extra memory does LoRA rank 64 cost vs rank 16 on Llama 3.1 8B?", 64),
    ("lora r=8 on llama 3.1 8b", 8)])
def test_the_rank_asked_about(text: str, rank: int) -> None:
    assert parse(text).lora_r == rank


def test_a_follow_up_keeps_the_method_of_a_plan(tmp_path: Path) -> None:
    first, second = _chat(tmp_path, "I want to QLoRA gemma 2 9b, what's the smallest GPU that works?",
                          "would a 4060 ti 16gb do?")
    assert first.kind == "plan"
    assert second.understood["workload"] == "qlora"
    assert second.understood["gpu"] == "rtx-4060-ti-16gb"


def test_an_unknown_model_in_a_follow_up_is_asked_about_not_replaced(tmp_path: Path) -> None:
    _, second = _chat(tmp_path, "Qwen2.5-72B 在 2 张 A100 80G 上推理可以吗", "换成 Qwen4-72B 呢")
    assert second.verdict == "need_more_info" and "Qwen4-72B" in second.answer
    assert "Qwen2.5 72B" not in second.answer.split("\n")[0]


def test_negating_one_serving_engine_keeps_serving() -> None:
    ask = parse("Serve Qwen2.5-7B with SGLang (not vLLM) on an L4, 8k context")
    assert ask.workloads == ["serve"] and ask.engine == "sglang"
    assert parse("Not QLoRA - plain LoRA on a non-quantized base: Mistral 7B on an A10").workloads \
        == ["lora"]


def test_a_busy_gpu_is_not_the_one_picked() -> None:
    assert parse("GPU 1 被同事占着。我用空闲的那张跑 Llama-3.1-8B").gpu_pick == "free"
    assert parse("run it on GPU 1").gpu_pick == "1"
    assert parse("vllm tp=2 跑 Qwen2.5-32B").num_gpus == 2


def test_the_planner_filters_methods_before_choosing_and_explains_the_first() -> None:
    p = plan("llama-3.1-8b", goal="fine-tune", methods=["qlora"], top=5)
    assert p.options and {o.method for o in p.options} == {"qlora"}
    assert len(p.options) >= 3
    assert not any("DeepSpeed" in a for a in p.assumptions)  # not the full fine-tune's notes


def test_smallest_gpu_ranks_by_memory() -> None:
    p = plan("llama-3.1-8b", goal="inference", objective="smallest_gpu",
             gpus=["RTX 4090", "RTX 3060 12GB", "RTX 4060 Ti 16GB"])
    caps = [o.num_gpus * o.capacity_gib for o in p.options]
    assert caps[0] == min(caps)  # best first; then one of each precision (diversity)


def test_models_that_fit_a_gpu_are_the_largest_per_format_and_really_fit() -> None:
    from tools.estimator import estimate

    found = models_that_fit("RTX 3070")
    sizes = {label: max(f.params_b for f in fits) for label, fits in found.items() if fits}
    sixteen, eight, four = (sizes[k] for k in found)
    assert sixteen < eight < four  # fewer bits, bigger models
    for fits in found.values():
        for f in fits:
            e = estimate(model=f.model_id, workload="inference", quant=f.quant, gpu="RTX 3070",
                         engine="llama.cpp" if f.quant == "q4_k_m" else None)
            assert e.fits and abs(e.total_gib - f.total_gib) < 1e-6


def test_what_can_i_run_on_a_gpu_lists_models(tmp_path: Path) -> None:
    (answer,) = _chat(tmp_path, "新手问下，我电脑显卡是 3070 8G，能玩点什么大模型")
    assert answer.kind == "plan" and answer.verdict is None
    assert "GGUF" in answer.answer and "GiB" in answer.answer


def test_fp8_kv_saving_under_a_pool_engine_is_the_requests_kv(tmp_path: Path) -> None:
    (answer,) = _chat(tmp_path, "How much does an fp8 KV cache save for Llama-3.1-8B at 32k context?")
    # Llama 3.1 8B: 2 x 32 layers x 8 KV heads x 128 x 2 B = 128 KiB per token; 32k tokens = 4 GiB
    assert "4.00 → 2.00 GiB" in answer.answer and "0.00 GiB" not in answer.answer


def test_emoji_only_is_answered_in_both_languages(tmp_path: Path) -> None:
    (answer,) = _chat(tmp_path, "🤔🤔🤔🔥🔥")
    assert "GPU-memory" in answer.answer and "显存" in answer.answer
