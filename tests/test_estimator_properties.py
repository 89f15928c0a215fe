"""Property-based checks over the request space: no crash, no negative or NaN memory, and the
monotonicity physics demands."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.estimator import EstimatorError, estimate, find_model, models

MODEL_IDS = [m.id for m in models()]
GPUS = ["H100", "A100 40GB", "A10", "RTX 4090", "T4", "H200", "L40S", "MI300X"]
WORKLOADS = ["inference", "serve", "full", "lora", "qlora"]
QUANTS = [None, "none", "int8", "nf4", "fp4", "gptq-4", "gptq-8", "awq-4", "fp8", "gguf-q4_k_m", "gguf-q8_0"]

request = st.fixed_dictionaries(
    {
        "model": st.sampled_from(MODEL_IDS + ["7B", "0.5b", "70 billion"]),
        "workload": st.sampled_from(WORKLOADS),
        "gpu": st.sampled_from(GPUS),
        "num_gpus": st.sampled_from([1, 2, 4, 8]),
        "seq_len": st.integers(min_value=1, max_value=131072),
        "batch_size": st.integers(min_value=1, max_value=64),
    },
    optional={
        "quant": st.sampled_from(QUANTS),
        "zero_stage": st.sampled_from([0, 1, 2, 3]),
        "offload": st.sampled_from(["none", "optimizer", "optimizer+params"]),
        "tensor_parallel": st.sampled_from([1, 2, 4, 8]),
        "grad_ckpt": st.booleans(),
        "flash_attn": st.booleans(),
        "optimizer": st.sampled_from(["adamw", "adamw-8bit", "paged-adamw-8bit", "sgd", "adafactor"]),
        "kv_cache_dtype": st.sampled_from(["auto", "fp8", "fp16"]),
        "lora_r": st.integers(min_value=1, max_value=512),
    },
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(request)
def test_any_request_gives_finite_nonnegative_numbers_or_a_clear_error(fields: dict) -> None:
    try:
        e = estimate(**fields)
    except EstimatorError as err:
        assert str(err) and "\n" not in str(err)
        return
    values = [e.total_gib, e.peak_allocated_gib, e.host_ram_gib, *e.per_gpu.model_dump().values()]
    assert all(math.isfinite(v) and v >= 0 for v in values), fields
    assert e.total_gib >= e.peak_allocated_gib
    assert e.fits == (e.total_gib <= e.capacity_gib) or e.workload == "serve"


@FAST
@given(st.sampled_from(MODEL_IDS), st.sampled_from(["inference", "full", "lora", "qlora"]),
       st.integers(min_value=16, max_value=32768), st.integers(min_value=1, max_value=8))
def test_more_tokens_never_use_less_memory(model: str, workload: str, seq: int, batch: int) -> None:
    a = estimate(model=model, workload=workload, seq_len=seq, batch_size=batch, suggest=False)
    b = estimate(model=model, workload=workload, seq_len=seq * 2, batch_size=batch, suggest=False)
    c = estimate(model=model, workload=workload, seq_len=seq, batch_size=batch + 1, suggest=False)
    assert b.peak_allocated_gib >= a.peak_allocated_gib
    assert c.peak_allocated_gib >= a.peak_allocated_gib


@FAST
@given(st.sampled_from(MODEL_IDS), st.sampled_from(["full", "lora", "qlora"]))
def test_more_gpus_with_zero3_never_more_per_gpu(model: str, workload: str) -> None:
    totals = [estimate(model=model, workload=workload, num_gpus=n, zero_stage=3, suggest=False).peak_allocated_gib
              for n in (2, 4, 8, 16)]
    assert all(x >= y for x, y in zip(totals, totals[1:], strict=False)), totals


@FAST
@given(st.sampled_from(MODEL_IDS))
def test_four_bit_never_more_weights_than_eight_bit(model: str) -> None:
    w = {q: estimate(model=model, quant=q, suggest=False).per_gpu.weights_gib
         for q in ("none", "int8", "gptq-8", "nf4", "gptq-4", "awq-4")}
    assert max(w["nf4"], w["gptq-4"], w["awq-4"]) <= min(w["int8"], w["gptq-8"])
    if not find_model(model).native_quant:  # GPT-OSS ships 4-bit experts natively
        assert min(w["int8"], w["gptq-8"]) <= w["none"]
