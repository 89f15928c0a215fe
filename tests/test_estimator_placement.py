"""Where parts live: embedding/head/logits under tensor parallelism per engine, FSDP units."""

from __future__ import annotations

import pytest

from tools.estimator import EstimatorError, estimate
from tools.estimator.activations import logits_elements
from tools.estimator.constants import SINGLE_SOURCE
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


def test_single_source_constants_are_marked_in_the_assumptions() -> None:
    serve = estimate(model="llama-3.1-8b", workload="serve", tensor_parallel=2, num_gpus=2,
                     suggest=False)
    names = {a.params.get("name") for a in serve.assumption_items
             if a.code == "single_source_constant"}
    assert names == {"NON_TORCH_TP", "CUDA_GRAPHS"}
    one = estimate(model="llama-3.1-8b", suggest=False)
    assert not any(a.code == "single_source_constant" for a in one.assumption_items)


def test_every_memory_constant_names_its_source() -> None:
    import ast
    from pathlib import Path

    missing = []
    for path in Path("tools/estimator").glob("*.py"):
        body = ast.parse(path.read_text()).body
        for i, node in enumerate(body):
            if not isinstance(node, (ast.Assign, ast.AnnAssign)):
                continue
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            name = getattr(target, "id", "")
            if not (name.isupper() and ("BYTES" in name or "BITS" in name or name in (
                    "BLOCK_TOKENS", "NON_TORCH_TP", "NON_TORCH_TP1", "CUDA_GRAPHS", "DS_SUB_GROUP",
                    "LLAMA_CPP_UBATCH", "VLLM_PROFILE_SEQS"))):
                continue
            nxt = body[i + 1] if i + 1 < len(body) else None
            doc = nxt.value.value if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) else ""
            flagged = name in SINGLE_SOURCE and "single-source" in str(doc)
            if not isinstance(doc, str) or not (any(c.isdigit() for c in doc) or flagged):
                missing.append(f"{path.name}:{name}")
    assert not missing, missing
