"""Exact golden values for each memory formula, computed by hand in the comments.

Parameter counts are checked against the published exact counts (HF safetensors metadata);
bytes follow from the formulas in each module's docstring.
"""

from __future__ import annotations

import pytest

from tools.estimator import estimate, find_model, make_request
from tools.estimator.activations import layer_saved_bytes, layer_saved_elements, logits_elements
from tools.estimator.frameworks import loss_path
from tools.estimator.kv import kv_bytes_per_token_layer, kv_cache_bytes
from tools.estimator.params import active_params, total_params
from tools.estimator.quant import quant_format
from tools.estimator.resolve import resolve
from tools.estimator.training import (
    gradients_bytes,
    lora_params,
    optimizer_bytes,
    zero_buffer_bytes,
)
from tools.estimator.weights import weights_bytes_total

GIB = 1024**3


def job(**fields: object):
    return resolve(make_request(**fields))


@pytest.mark.parametrize(("name", "exact"), [
    ("llama-2-7b", 6_738_415_616),    # meta-llama/Llama-2-7b-hf
    ("llama-3.1-8b", 8_030_261_248),  # meta-llama/Llama-3.1-8B
    ("qwen2.5-7b", 7_615_616_512),    # Qwen/Qwen2.5-7B
])
def test_parameter_count_is_exact(name: str, exact: int) -> None:
    assert total_params(find_model(name)) == exact


def test_moe_active_parameters_use_routed_experts_only() -> None:
    m = find_model("mixtral-8x7b")
    # 46.7B total; 2 of 8 experts per token -> 12.9B active (published "12.9B active")
    assert total_params(m) == 46_702_792_704
    assert active_params(m) == pytest.approx(12.88e9, rel=0.01)


def test_bf16_weights_are_two_bytes_per_parameter() -> None:
    assert weights_bytes_total(job(model="llama-2-7b", gpu="A100")) == 2 * 6_738_415_616


def test_nf4_double_quant_keeps_embeddings_in_16_bit() -> None:
    # linear = 32 x (4*4096^2 + 3*4096*11008) = 6,476,005,376 params at 4 + 8/64 + 32/(64*256) bits
    # embeddings + lm_head + norms = 2*32000*4096 + 65*4096 = 262,410,240 params at 2 bytes
    j = job(model="llama-2-7b", workload="inference", quant="nf4", gpu="A100")
    linear = 6_476_005_376 * (4 + 8 / 64 + 32 / (64 * 256)) / 8
    assert weights_bytes_total(j) == pytest.approx(linear + 262_410_240 * 2, rel=1e-12)


def test_nf4_without_double_quant_costs_half_a_bit_more() -> None:
    assert quant_format("nf4").bits_per_weight(double_quant=False) == 4.5
    assert quant_format("nf4").bits_per_weight(double_quant=True) == pytest.approx(4.126953125)


def test_gptq_and_gguf_bits() -> None:
    assert quant_format("gptq-4").bits_per_weight() == 4 + 16 / 128 + 4 / 128
    assert quant_format("gguf-q8_0").bits_per_weight() == 8.5


def test_int8_is_half_of_fp16_not_a_quarter() -> None:
    w16 = weights_bytes_total(job(model="llama-2-13b", gpu="A100"))
    w8 = weights_bytes_total(job(model="llama-2-13b", gpu="A100", quant="int8"))
    assert 0.5 < w8 / w16 < 0.53


def test_kv_cache_is_gqa_aware() -> None:
    # Llama-3.1-8B: 2 x 8 KV heads x 128 x 2 bytes x 32 layers = 131,072 B/token (vLLM logs agree)
    m = find_model("llama-3.1-8b")
    assert kv_bytes_per_token_layer(m, 2) * m.layers == 131_072
    # Llama-2-7B is MHA: 4x that
    m2 = find_model("llama-2-7b")
    assert kv_bytes_per_token_layer(m2, 2) * m2.layers == 524_288


def test_mla_cache_is_one_latent_per_token() -> None:
    # DeepSeek-V3: (kv_lora_rank 512 + rope 64) x 2 bytes x 61 layers = 70,272 B/token
    m = find_model("deepseek-v3")
    assert kv_bytes_per_token_layer(m, 2) * m.layers == 70_272
    assert kv_bytes_per_token_layer(m, 2, tp=8) == kv_bytes_per_token_layer(m, 2)


def test_sliding_window_layers_cap_at_the_window() -> None:
    # Gemma-2-9B: 21 global layers x 32k tokens + 21 local layers x 4096, 2 x 8 x 256 x 2 B each
    m = find_model("gemma-2-9b")
    per = 2 * 8 * 256 * 2
    assert kv_cache_bytes(m, 32768, 1, 2) == (21 * 32768 + 21 * 4096) * per


def test_kv_under_tensor_parallel_splits_kv_heads() -> None:
    m = find_model("llama-3.1-8b")
    assert kv_bytes_per_token_layer(m, 2, tp=4) == 2 * 2 * 128 * 2
    assert kv_bytes_per_token_layer(m, 2, tp=16) == 2 * 1 * 128 * 2  # replicated past 8 KV heads


def test_lora_parameter_count_matches_litgpt() -> None:
    # litgpt resource table: Llama-2-7B, r=8 on query,value -> 4,194,304 trainable parameters
    assert lora_params(job(model="llama-2-7b", workload="lora", lora_r=8, lora_targets="q_proj,v_proj")) == 4_194_304


def test_optimizer_bytes_per_precision_mode() -> None:
    p = 6_738_415_616
    amp = job(model="llama-2-7b", workload="full", gpu="A100")
    assert optimizer_bytes(amp) == 8 * p and gradients_bytes(amp) == 4 * p
    pure = job(model="llama-2-7b", workload="full", gpu="A100", master_weights=False)
    assert optimizer_bytes(pure) == 4 * p and gradients_bytes(pure) == 2 * p
    eight = job(model="llama-2-7b", workload="full", gpu="A100", optimizer="adamw-8bit")
    assert optimizer_bytes(eight) == 2 * p
    ds = job(model="llama-2-7b", workload="full", gpu="A100", num_gpus=8, zero_stage=3)
    assert optimizer_bytes(ds) == 12 * p / 8  # fp32 master + m + v, sharded 8 ways
    assert gradients_bytes(ds) == (2 + 4) * p / 8 + zero_buffer_bytes(ds)  # + comm buckets


def test_amp_full_finetune_is_18_bytes_per_param_before_activations() -> None:
    e = estimate(model="llama-2-7b", workload="full", gpu="H200", seq_len=16, suggest=False)
    states = e.per_gpu.weights_gib + e.per_gpu.gradients_gib + e.per_gpu.optimizer_gib
    linear = 6_476_005_376
    assert states * GIB == pytest.approx(16 * 6_738_415_616 + 2 * linear, rel=1e-3)


def test_paged_optimizer_states_live_in_host_memory() -> None:
    e = estimate(model="llama-2-7b", workload="full", gpu="A100", optimizer="paged-adamw-8bit", suggest=False)
    assert e.per_gpu.optimizer_gib == 0
    assert e.host_ram_gib > 2 * 6.7 / 1.074


def test_layer_activation_elements_llama() -> None:
    # 4h + q + k + v + o + 4I = 16384 + 4096 + 8192 + 4096 + 44032
    assert layer_saved_elements(job(model="llama-2-7b", workload="lora")) == 76_800


def test_eager_attention_adds_the_quadratic_term() -> None:
    base = layer_saved_bytes(job(model="llama-2-7b", workload="lora", seq_len=4096))
    eager = layer_saved_bytes(job(model="llama-2-7b", workload="lora", seq_len=4096, flash_attn=False))
    # fp32 softmax (4) + 16-bit probabilities (2) per heads x seq^2 element
    assert eager - base == 32 * 4096 * 4096 * 6


def test_logits_hf_path() -> None:
    # ForCausalLMLoss: 16-bit logits + fp32 upcast + fp32 log-softmax = 10; backward 4 + 4 + 4 = 12
    j = job(model="llama-3.1-8b", workload="lora")
    assert logits_elements(j) == 2048 * 128256
    p = loss_path(j)
    assert (p.forward, p.loss, p.backward) == (2.0, 10.0, 12.0)


def test_vllm_pool_arithmetic() -> None:
    e = estimate(model="llama-3.1-8b", workload="serve", gpu="H100")
    s = e.serving
    assert s is not None
    assert s.budget_gib == pytest.approx(0.9 * 79.19, abs=0.01)
    pool = s.budget_gib - e.per_gpu.weights_gib - s.activation_profile_gib - s.non_torch_gib
    assert s.kv_pool_gib == pytest.approx(pool, abs=0.01)
    assert s.max_tokens == pytest.approx(s.kv_pool_gib * GIB / 131_072, abs=16)
    assert s.max_concurrent_seqs == int(s.kv_pool_gib * GIB // (8192 * 131_072))
