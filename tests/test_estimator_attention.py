"""Attention paths: the request field, what eager attention and ALiBi models materialize, and
one-line errors for combinations an engine, model or GPU cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.estimator import EstimatorError, estimate
from tools.estimator.activations import alibi_bytes, inference_activation_bytes, working_bytes
from tools.estimator.attention import attention_path, score_bytes
from tools.estimator.estimate import make_request
from tools.estimator.resolve import Job, resolve

GIB = 1024**3


def job(**fields: object) -> Job:
    return resolve(make_request(**fields))


@pytest.mark.parametrize(("fields", "path"), [
    ({}, "sdpa"),
    ({"flash_attn": False}, "eager"),
    ({"attention": "flash_attention_2"}, "flash"),
    ({"attention": "FA2"}, "flash"),
    ({"engine": "vllm", "workload": "serve"}, "flash"),
    ({"engine": "torchtune", "workload": "lora"}, "sdpa"),
    ({"model": "bloom-7b1"}, "eager"),
    ({"model": "baichuan2-13b", "workload": "lora"}, "sdpa"),
    ({"model": "baichuan2-13b"}, "eager"),
])
def test_attention_path_per_engine_and_model(fields: dict, path: str) -> None:
    base = {"model": "llama-3.1-8b", **fields}
    assert attention_path(job(**base)) == path
    assert estimate(**base, suggest=False).settings["attention"] == path


@pytest.mark.parametrize(("fields", "needle"), [
    ({"engine": "vllm", "workload": "serve", "attention": "eager"}, "vllm runs attention = flash"),
    ({"engine": "vllm", "workload": "serve", "flash_attn": False}, "vllm runs attention = flash"),
    ({"engine": "torchtune", "workload": "lora", "attention": "eager"}, "torchtune runs attention = sdpa"),
    ({"model": "bloom-7b1", "attention": "sdpa"}, "accepted: auto, eager"),
    ({"model": "baichuan2-13b", "attention": "flash"}, "whatever attn_implementation says"),
    ({"gpu": "T4", "attention": "flash"}, "needs an Ampere or newer GPU"),
    ({"attention": "sdpa", "flash_attn": False}, "drop one of the two"),
    ({"attention": "flashy"}, "did you mean 'flash'"),
])
def test_unsupported_attention_combinations_are_one_line_errors(fields: dict, needle: str) -> None:
    with pytest.raises(EstimatorError) as e:
        estimate(**{"model": "llama-3.1-8b", **fields})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_eager_training_layer_peak_is_the_softmax_backward() -> None:
    # bf16: fp32 softmax output + its gradient + the fp32 input gradient = 12 bytes per score,
    # of which 6 are saved; fp16 (half_to_float softmax) forms a 16-bit input gradient: 10
    lora = dict(model="llama-2-7b", workload="lora", seq_len=4096, grad_ckpt=False)
    scores = 32 * 4096 * 4096
    bf16 = working_bytes(job(**lora, flash_attn=False)) - working_bytes(job(**lora))
    fp16 = (working_bytes(job(**lora, flash_attn=False, weight_dtype="fp16"))
            - working_bytes(job(**lora, weight_dtype="fp16")))
    assert bf16 == scores * (12 - 6)
    assert fp16 == scores * (10 - 6)


def test_eager_keeps_the_4d_causal_mask_and_sdpa_does_not() -> None:
    assert alibi_bytes(job(model="llama-2-7b", workload="lora", seq_len=4096)) == 0
    eager = alibi_bytes(job(model="llama-2-7b", workload="lora", seq_len=4096, batch_size=2,
                            flash_attn=False))
    assert eager == 2 * 4096 * 4096 * 2


def test_eager_inference_scores_grow_with_the_square_of_the_prompt() -> None:
    small = inference_activation_bytes(job(model="llama-3.1-8b", seq_len=4096, flash_attn=False))
    large = inference_activation_bytes(job(model="llama-3.1-8b", seq_len=8192, flash_attn=False))
    sdpa = inference_activation_bytes(job(model="llama-3.1-8b", seq_len=8192))
    assert large > 3.5 * small
    assert large - sdpa > 32 * 8192 * 8192 * 10 * 0.95


def test_baichuan2_13b_alibi_mask_is_heads_times_seq_squared() -> None:
    j = job(model="baichuan2-13b", workload="lora", seq_len=4096, batch_size=1)
    # cached heads x s^2 bias + batch x heads x s^2 mask, 16-bit
    assert alibi_bytes(j) == (40 + 40) * 4096 * 4096 * 2
    e = estimate(model="baichuan2-13b", workload="lora", seq_len=4096, suggest=False)
    assert "alibi_bias" in {a.code for a in e.assumption_items}
    q = estimate(model="baichuan2-13b", workload="qlora", seq_len=4096, suggest=False)
    assert "model_attention" in {a.code for a in q.assumption_items}


def test_bloom_alibi_is_slopes_only() -> None:
    bloom = job(model="bloom-7b1", workload="lora", seq_len=2048)
    # only the eager 4-D causal mask; the ALiBi slopes are O(heads x seq)
    assert alibi_bytes(bloom) == 2048 * 2048 * 2


def test_attention_dropout_from_config_adds_the_dropout_mask(tmp_path: Path) -> None:
    cfg = {"hidden_size": 1024, "num_attention_heads": 16, "num_hidden_layers": 4,
           "vocab_size": 32000, "intermediate_size": 4096, "attention_dropout": 0.1}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with_drop = job(config_path=str(tmp_path), workload="full", flash_attn=False)
    assert with_drop.model.attention_dropout == 0.1
    assert score_bytes(with_drop, with_drop.model.attention_dropout).saved == 7.0
    assert score_bytes(with_drop).saved == 6.0


def test_llama_cpp_without_fa_counts_ubatch_by_context_scores() -> None:
    fa = estimate(model="llama-3.1-8b", engine="llama.cpp", quant="gguf-q4_k_m", seq_len=8192,
                  suggest=False)
    no_fa = estimate(model="llama-3.1-8b", engine="llama.cpp", quant="gguf-q4_k_m", seq_len=8192,
                     attention="eager", suggest=False)
    extra = (no_fa.per_gpu.activations_gib - fa.per_gpu.activations_gib) * GIB
    # 512 ubatch tokens x 8192 context x 32 heads x 8 bytes (f32 kq + its softmax), added to the
    # attention step, which then overtakes the MLP step (so a little less shows in the peak)
    scores = 512 * 8192 * 32 * 8
    assert 0.95 * scores < extra <= scores


def test_prefill_working_set_per_engine_and_version() -> None:
    new = estimate(model="llama-3.1-8b", seq_len=32768, attention="flash", suggest=False)
    old = estimate(model="llama-3.1-8b", seq_len=32768, transformers_version="4.44", suggest=False)
    vllm = estimate(model="llama-3.1-8b", seq_len=32768, engine="vllm", suggest=False)
    assert new.prefill["tokens"] == 32768 and vllm.prefill["tokens"] == 8192
    assert "transformers 4.48" in (new.prefill_engine or "")
    # current transformers: the MLP step of one layer sets the working set, logits are one row
    assert new.prefill["peak"] == pytest.approx(new.prefill["mlp"] + new.prefill["logits"])
    assert new.prefill["logits"] < 0.01
    # before 4.45 every prompt position's logits (16-bit + fp32 upcast) are formed
    assert old.prefill["logits"] == pytest.approx(32768 * 128256 * 6 / GIB, rel=1e-3)
    assert old.prefill["peak"] > 5 * new.prefill["peak"]
    assert "prefill_all_logits" in {a.code for a in old.assumption_items}
    assert vllm.prefill["peak"] < new.prefill["peak"]


def test_bad_transformers_version_is_a_one_line_error() -> None:
    with pytest.raises(EstimatorError) as e:
        estimate(model="llama-3.1-8b", transformers_version="latest")
    assert "a version such as 4.44" in str(e.value) and "\n" not in str(e.value)
