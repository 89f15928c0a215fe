"""Bad input gets one specific line; the fit matrix answers the common questions."""

from __future__ import annotations

import pytest

from tools.estimator import EstimatorError, InvalidRequestError, estimate, fit_matrix


@pytest.mark.parametrize(("fields", "match"), [
    ({"num_gpus": 0}, "num_gpus=0"),
    ({"batch_size": -1}, "batch_size=-1"),
    ({"seq_len": 0}, "seq_len=0"),
    ({"workload": "lora", "lora_r": 0}, "lora_r=0"),
    ({"tensor_parallel": 3, "num_gpus": 3}, "tensor_parallel=3"),
    ({"workload": "full", "zero_stage": 3}, "ZeRO shards across data-parallel GPUs"),
    ({"workload": "qlora", "quant": "int8"}, "QLoRA needs a 4-bit base"),
    ({"workload": "lora", "quant": "nf4"}, "use workload=qlora"),
    ({"quant": "q5"}, "accepted: none, int8"),
    ({"workload": "finetune-ish"}, "accepted: inference, serve"),
    ({"gpu_memory_utilization": 1.5}, "between 0.05 and 1.0"),
    ({"optimizer": "adamm"}, "did you mean 'adamw'"),
    ({"zero_stage": 5, "num_gpus": 2}, "accepted: 0, 1, 2 or 3"),
    ({"offload": "optimizer"}, "offload applies to training"),
])
def test_impossible_values_are_one_line_errors(fields: dict[str, object], match: str) -> None:
    with pytest.raises(EstimatorError, match=match) as e:
        estimate(model="llama-2-7b", **fields)
    assert "\n" not in str(e.value)


def test_unknown_field_suggests_the_right_one() -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'seq_len'"):
        estimate(model="llama-2-7b", seq_lne=4096)


def test_zero_offload_on_one_gpu_is_allowed() -> None:
    e = estimate(model="llama-2-7b", workload="full", zero_stage=2, offload="optimizer", suggest=False)
    assert e.per_gpu.optimizer_gib == 0 and e.host_ram_gib > 50


def test_can_i_fine_tune_13b_on_one_a10() -> None:
    fm = fit_matrix("llama-2-13b", gpu="A10")
    assert not fm.row("full").fits
    assert not fm.row("lora").fits
    assert fm.row("qlora").fits
    assert fm.row("qlora").max_batch and fm.row("qlora").max_seq_len


def test_70b_bf16_inference_needs_more_than_one_h100() -> None:
    assert not estimate(model="llama-3-70b", gpu="H100").fits
    assert estimate(model="llama-3-70b", gpu="H100", num_gpus=2, pipeline_parallel=2).fits


def test_70b_qlora_does_not_fit_a_24gb_card() -> None:
    assert not estimate(model="llama-2-70b", workload="qlora", gpu="A10").fits
    assert not estimate(model="llama-2-70b", workload="qlora", gpu="RTX 4090").fits
    assert estimate(model="llama-2-70b", workload="qlora", gpu="A100 80GB").fits


def test_13b_full_with_zero3_on_8_a100() -> None:
    assert not estimate(model="llama-2-13b", workload="full", gpu="A100 80GB").fits
    assert estimate(model="llama-2-13b", workload="full", gpu="A100 80GB", num_gpus=8, zero_stage=3).fits


def test_suggestions_make_it_fit() -> None:
    e = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    assert not e.fits
    assert e.suggestions and e.suggestions[0].fits
    assert any("QLoRA" in s.change for s in e.suggestions)


def test_more_tokens_never_use_less_memory() -> None:
    totals = [estimate(model="qwen2.5-7b", workload="lora", seq_len=s, suggest=False).total_gib
              for s in (256, 1024, 4096, 16384)]
    assert totals == sorted(totals)


def test_zero3_more_gpus_never_more_per_gpu() -> None:
    totals = [estimate(model="llama-2-13b", workload="full", num_gpus=n, zero_stage=3, suggest=False).total_gib
              for n in (2, 4, 8, 16)]
    assert totals == sorted(totals, reverse=True)


def test_serving_capacity_reports_tokens_and_sequences() -> None:
    e = estimate(model="qwen2.5-72b", workload="serve", gpu="H100", num_gpus=4, tensor_parallel=4,
                 seq_len=32768, batch_size=16)
    assert e.serving and e.serving.max_tokens > 32768
    assert e.fits == (e.serving.max_concurrent_seqs >= 16)


def test_mla_models_serve_with_a_small_cache() -> None:
    v3 = estimate(model="deepseek-v3", workload="serve", gpu="H200", num_gpus=8, tensor_parallel=8)
    assert v3.serving and v3.serving.kv_bytes_per_token == 70_272


def test_gguf_names_are_accepted_as_written() -> None:
    for q in ("gguf-q4_k_m", "q4_k_m", "GGUF-Q8_0"):
        assert estimate(model="llama-3.1-8b", quant=q, suggest=False).per_gpu.weights_gib > 0
