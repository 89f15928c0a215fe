"""Where parts live: embedding/head/logits under tensor parallelism per engine, FSDP units."""

from __future__ import annotations

import pytest

from tools.estimator import EstimatorError, estimate
from tools.estimator.activations import logits_elements
from tools.estimator.estimate import make_request
from tools.estimator.params import param_split
from tools.estimator.resolve import Job, resolve
from tools.estimator.training import zero3_weight_bytes
from tools.estimator.weights import weights_bytes_per_gpu


def job(**fields: object) -> Job:
    return resolve(make_request(**fields))


def test_transformers_tp_replicates_the_embedding_vllm_splits_it() -> None:
    m = dict(model="llama-3.1-8b", tensor_parallel=2, num_gpus=2)
    hf = weights_bytes_per_gpu(job(**m, workload="inference", engine="hf"))
    vllm = weights_bytes_per_gpu(job(**m, workload="serve", engine="vllm"))
    emb = param_split(job(model="llama-3.1-8b").model).embedding * 2
    assert hf - vllm == pytest.approx(emb / 2)


def test_tp_training_keeps_full_vocab_logits_on_every_rank() -> None:
    one = logits_elements(job(model="llama-3.1-8b", workload="lora", seq_len=4096))
    two = logits_elements(job(model="llama-3.1-8b", workload="lora", seq_len=4096,
                              tensor_parallel=2, num_gpus=2))
    assert one == two == 4096 * 128256


def test_litgpt_has_no_tensor_parallel_training() -> None:
    with pytest.raises(EstimatorError) as e:
        estimate(model="llama-3.1-8b", workload="lora", engine="litgpt", tensor_parallel=2,
                 num_gpus=2)
    assert "litgpt fine-tunes without tensor parallelism" in str(e.value)
    assert "\n" not in str(e.value)


def test_litgpt_fsdp_root_unit_stays_unsharded() -> None:
    base = dict(model="llama-3.1-8b", workload="full", zero_stage=3, num_gpus=8)
    lit = zero3_weight_bytes(job(**base, engine="litgpt"))
    ds = zero3_weight_bytes(job(**base, engine="deepspeed"))
    j = job(**base, engine="deepspeed")
    split = param_split(j.model)
    per = weights_bytes_per_gpu(j) / split.total
    assert lit - ds == pytest.approx((split.embedding + split.lm_head) * per, rel=1e-6)


def test_torchtune_gathers_the_output_unit_with_the_last_layer() -> None:
    base = dict(model="llama-3.1-8b", workload="full", zero_stage=3, num_gpus=8)
    tt = zero3_weight_bytes(job(**base, engine="torchtune"))
    ds = zero3_weight_bytes(job(**base, engine="deepspeed"))
    # a 128k x 4096 output unit is larger than a decoder layer, so it sets the gathered pair
    assert tt > ds


def test_parameter_offload_keeps_only_the_gathered_units() -> None:
    on = zero3_weight_bytes(job(model="llama-3.1-70b", workload="full", zero_stage=3, num_gpus=8,
                                offload="optimizer+params", engine="deepspeed"))
    off = zero3_weight_bytes(job(model="llama-3.1-70b", workload="full", zero_stage=3, num_gpus=8,
                                 engine="deepspeed"))
    assert on < off / 4
