"""Catalog lookups, aliases, suggestions, synthetic and config.json models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.estimator import (
    ConfigFileError,
    UnknownGpuError,
    UnknownModelError,
    estimate,
    find_gpu,
    find_model,
    gpus,
    models,
)
from tools.estimator.params import total_params


def test_every_model_matches_its_published_size() -> None:
    for m in models():
        assert total_params(m) / 1e9 == pytest.approx(m.params_b, rel=0.02), m.id
        assert m.source.startswith("http"), m.id


def test_every_gpu_has_a_source_and_usable_memory_below_nominal() -> None:
    for g in gpus():
        assert g.source_url.startswith("http"), g.id
        assert 0 < g.usable_gib <= g.memory_gib, g.id


@pytest.mark.parametrize("name", ["llama-2-13b", "meta-llama/Llama-2-13b-hf", "Llama 2 13B",
                                  "llama2-13b", "meta-llama/Llama-2-13b-chat-hf"])
def test_model_aliases_resolve(name: str) -> None:
    assert find_model(name).id == "llama-2-13b"


def test_qwen_versions_are_not_confused() -> None:
    assert find_model("Qwen2.5-7B-Instruct").id != find_model("Qwen2-57B-A14B").id


@pytest.mark.parametrize(("name", "gpu_id"), [
    ("A10", "a10"), ("A10G", "a10g-aws-g5"), ("4090", "rtx-4090"), ("NVIDIA GeForce RTX 4090", "rtx-4090"),
    ("A100 80GB", "a100-80gb-sxm4"), ("A100-SXM4-40GB", "a100-40gb-sxm4"), ("H100", "h100-sxm5"),
    ("NVIDIA H100 80GB HBM3", "h100-sxm5"), ("T4", "t4"),
])
def test_gpu_aliases_resolve(name: str, gpu_id: str) -> None:
    assert find_gpu(name).id == gpu_id


def test_80gb_card_shows_about_79_gib() -> None:
    assert find_gpu("A100 80GB").usable_gib == pytest.approx(79.2, abs=0.1)
    assert find_gpu("H100").usable_gib == pytest.approx(79.2, abs=0.1)


def test_unknown_model_names_the_closest_matches() -> None:
    with pytest.raises(UnknownModelError) as e:
        find_model("lama-2-13")
    assert "Llama-2-13b" in str(e.value) or "llama-2-13b" in str(e.value).lower()


def test_unknown_gpu_names_the_closest_matches() -> None:
    with pytest.raises(UnknownGpuError) as e:
        find_gpu("RTX 4099")
    assert "4090" in str(e.value)


@pytest.mark.parametrize(("size", "billions"), [("13B", 13), ("1.5b", 1.5), ("70 billion", 70), ("350M", 0.35)])
def test_bare_sizes_give_a_documented_synthetic_model(size: str, billions: float) -> None:
    e = estimate(model=size, suggest=False)
    assert e.params_b == pytest.approx(billions, rel=0.03)
    assert any("synthetic" in a for a in e.assumptions)


def test_local_config_json_is_read(tmp_path: Path) -> None:
    cfg = {"hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
           "num_hidden_layers": 32, "intermediate_size": 14336, "vocab_size": 128256,
           "hidden_act": "silu", "torch_dtype": "bfloat16", "max_position_embeddings": 131072}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    e = estimate(model=str(tmp_path / "config.json"), suggest=False)
    assert e.params_b == pytest.approx(8.03, abs=0.01)
    e2 = estimate(config_path=str(tmp_path), suggest=False)
    assert e2.total_gib == e.total_gib


def test_broken_config_json_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigFileError, match="cannot use config"):
        estimate(model=str(bad))
    bad.write_text(json.dumps({"hidden_size": 10}))
    with pytest.raises(ConfigFileError, match="needs hidden_size"):
        estimate(model=str(bad))
