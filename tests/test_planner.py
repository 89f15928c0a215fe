"""Planner, parallel strategies, speed/cost and recipes: golden values and consistency."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from tools.estimator import estimate, make_request
from tools.estimator.perf import prices, speed, train_flops_per_token
from tools.estimator.plan import plan
from tools.estimator.recipes import deepspeed_config, fsdp_yaml, serving_recipe, training_recipe
from tools.estimator.resolve import resolve
from tools.estimator.training import gradients_bytes, optimizer_bytes, zero_buffer_bytes
from ui.cli import main

P7 = 6_738_415_616  # Llama-2-7B parameters


def job(**f: object):
    return resolve(make_request(**f))


def test_zero_stages_shard_what_the_paper_says() -> None:
    # ZeRO (arXiv:1910.02054), DeepSpeed mixed precision, 8 GPUs: optimizer = 12 B/param (master+m+v)
    base = {"model": "llama-2-7b", "workload": "full", "num_gpus": 8}
    z1, z2, z3 = (job(**base, zero_stage=s) for s in (1, 2, 3))
    assert optimizer_bytes(z1) == optimizer_bytes(z2) == optimizer_bytes(z3) == 12 * P7 / 8
    # stage 1: 16-bit grads whole, fp32 grad partition sharded; stage 2/3: both sharded
    assert gradients_bytes(z1) == pytest.approx(2 * P7 + 4 * P7 / 8 + zero_buffer_bytes(z1))
    assert gradients_bytes(z2) == pytest.approx(6 * P7 / 8 + zero_buffer_bytes(z2))
    # HF "auto" buckets: hidden^2 elements, 16-bit, reduce double-buffered + one more bucket
    assert zero_buffer_bytes(z2) == (2 * 4096**2 + 4096**2) * 2
    assert zero_buffer_bytes(z3) == pytest.approx((2 * 4096**2 + 0.9 * 4096**2) * 2)


def test_zero3_keeps_a_shard_plus_two_gathered_layers() -> None:
    e8 = estimate(model="llama-2-7b", workload="full", num_gpus=8, zero_stage=3, suggest=False)
    whole = 2 * P7  # 16-bit parameters
    layer = (whole - 2 * 2 * 32000 * 4096) / 32  # one decoder layer: no embedding or lm_head
    assert e8.per_gpu.weights_gib * 1024**3 == pytest.approx(whole / 8 + 2 * layer, rel=1e-3)


def test_hybrid_shard_shards_within_a_node_only() -> None:
    flat = job(model="llama-2-7b", workload="full", num_gpus=16, zero_stage=3)
    hybrid = job(model="llama-2-7b", workload="full", num_gpus=16, zero_stage=3, hybrid_shard=True)
    assert flat.shard == 16 and hybrid.shard == 8
    assert optimizer_bytes(hybrid) == 2 * optimizer_bytes(flat)


def test_sequence_parallel_splits_norm_activations() -> None:
    a = estimate(model="llama-2-13b", workload="full", num_gpus=4, tensor_parallel=4, grad_ckpt=False,
                 suggest=False).phases["forward"]
    b = estimate(model="llama-2-13b", workload="full", num_gpus=4, tensor_parallel=4, grad_ckpt=False,
                 sequence_parallel=True, suggest=False).phases["forward"]
    assert b < a


def test_pipeline_first_stage_holds_pp_microbatches() -> None:
    one = estimate(model="llama-2-13b", workload="lora", grad_ckpt=False, suggest=False).per_gpu
    pp4 = estimate(model="llama-2-13b", workload="lora", grad_ckpt=False, num_gpus=4, pipeline_parallel=4,
                   suggest=False).per_gpu
    assert pp4.weights_gib < one.weights_gib / 3
    assert pp4.activations_gib == pytest.approx(one.activations_gib, rel=0.35)


def test_nvme_offload_moves_states_to_disk() -> None:
    cpu = estimate(model="llama-2-13b", workload="full", num_gpus=2, zero_stage=3, offload="optimizer+params",
                   suggest=False)
    nvme = estimate(model="llama-2-13b", workload="full", num_gpus=2, zero_stage=3, offload="optimizer+params",
                    offload_device="nvme", suggest=False)
    assert nvme.host_ram_gib < cpu.host_ram_gib / 10
    assert nvme.total_gib == cpu.total_gib


def test_training_flops_per_token() -> None:
    n = 6_738_415_616
    assert train_flops_per_token(job(model="llama-2-7b", workload="full", grad_ckpt=False)) == 6 * n
    assert train_flops_per_token(job(model="llama-2-7b", workload="lora")) == 6 * n  # 4N + 2N recompute


def test_decode_speed_is_bandwidth_bound() -> None:
    j = job(model="llama-3.1-8b", gpu="H100", seq_len=16)
    est = estimate(model="llama-3.1-8b", gpu="H100", seq_len=16, suggest=False)
    sp = speed(j, est)
    weights = est.per_gpu.weights_gib * 1024**3
    assert sp.decode_tokens_per_s_per_seq == pytest.approx(3350e9 * 0.75 / weights, rel=0.01)


def test_cost_uses_the_price_table_and_overrides() -> None:
    assert prices()["h100-sxm5"].source.startswith("http") and prices()["h100-sxm5"].date
    j = job(model="llama-3.1-8b", workload="qlora", gpu="A10")
    est = estimate(model="llama-3.1-8b", workload="qlora", gpu="A10", suggest=False)
    sp = speed(j, est, dataset_tokens=1e8, epochs=2, price=1.0)
    assert sp.hours == pytest.approx(2e8 / sp.train_tokens_per_s / 3600)
    assert sp.total_usd == pytest.approx(sp.hours * 1.0)


def test_plan_for_a_70b_fine_tune_lists_each_method() -> None:
    p = plan("llama-3-70b", goal="fine-tune")
    methods = [o.method for o in p.options]
    assert methods[0] == "qlora" and p.options[0].num_gpus == 1
    assert {"qlora", "lora", "full"} <= set(methods)
    assert all(o.total_gib <= o.capacity_gib * 0.95 for o in p.options)


def test_cheapest_serving_plan_fits_the_users() -> None:
    p = plan("qwen2.5-72b", goal="serve", seq_len=32768, users=16, objective="cheapest")
    assert p.options
    costs = [o.speed.usd_per_hour for o in p.options if o.speed.usd_per_hour is not None]
    assert p.options[0].speed.usd_per_hour == min(costs)
    for o in p.options:
        assert o.max_concurrent_seqs is not None and o.max_concurrent_seqs >= 16


def test_no_plan_names_the_nearest_miss() -> None:
    p = plan("llama-3-70b", goal="fine-tune", gpus=["RTX 4090"], max_gpus=1)
    assert not p.options and p.nearest_miss and "QLoRA" in p.nearest_miss
    assert p.advice


def test_budget_filters_options() -> None:
    p = plan("llama-3.1-8b", goal="fine-tune", budget_usd_per_hour=1.0)
    assert p.options and all(o.speed.usd_per_hour is not None and o.speed.usd_per_hour <= 1.0
                             for o in p.options)


def test_deepspeed_json_agrees_with_the_plan() -> None:
    req = {"model": "llama-2-13b", "workload": "full", "num_gpus": 8, "zero_stage": 3,
           "offload": "optimizer", "batch_size": 2}
    cfg = json.loads(training_recipe(req).files["ds_config.json"])
    assert cfg == deepspeed_config(req)
    assert cfg["zero_optimization"]["stage"] == 3
    assert cfg["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert cfg["train_micro_batch_size_per_gpu"] == 2
    assert "--num_gpus 8" in training_recipe(req).commands[0]


def test_fsdp_yaml_parses() -> None:
    cfg = yaml.safe_load(fsdp_yaml(4, offload=True))
    assert cfg["num_processes"] == 4
    assert cfg["fsdp_config"]["fsdp_sharding_strategy"] == "FULL_SHARD"
    assert cfg["fsdp_config"]["fsdp_offload_params"] is True


def test_qlora_recipe_compiles_and_matches() -> None:
    req = {"model": "llama-3-70b", "workload": "qlora", "lora_r": 32}
    src = training_recipe(req).files["peft_config.py"]
    compile(src, "peft_config.py", "exec")
    assert "r=32" in src and 'bnb_4bit_quant_type="nf4"' in src and "load_in_4bit=True" in src


def test_vllm_command_matches_the_plan() -> None:
    p = plan("qwen2.5-72b", goal="serve", seq_len=32768, users=16, objective="cheapest")
    o = p.options[0]
    cmd = o.recipe.commands[0] if o.recipe else ""
    assert f"--tensor-parallel-size {o.request.get('tensor_parallel', 1)}" in cmd
    assert "--max-model-len 32768" in cmd
    assert serving_recipe({"model": "qwen2.5-7b"}, 4096, 8).commands[0].startswith("vllm serve Qwen/Qwen2.5-7B")


def test_cli_plan_prints_ranked_table_and_recipe() -> None:
    r = CliRunner().invoke(main, ["plan", "qwen2.5-72b", "--goal", "serve", "--seq-len", "32768",
                                  "--users", "16", "--objective", "cheapest"])
    assert r.exit_code == 0, r.output
    assert "vllm serve" in r.output and "why:" in r.output and "dropped:" in r.output
    bad = CliRunner().invoke(main, ["plan", "llama-3-70b", "--goal", "dance"])
    assert bad.exit_code != 0 and "accepted: fine-tune" in bad.output
