"""Architectures for models given only by size ("13B", "1.5b", "70 billion") or by config.json.

A bare size becomes a Llama-style decoder (SwiGLU MLP, RMSNorm, untied embeddings, GQA with
8 KV heads of dimension 128, a 128,256-token vocabulary, 32,000 below 1B) whose width follows the public Llama/Qwen
size ladder and whose depth is solved so the parameter count matches the size. The result is marked
``synthetic`` and the estimate says so in its assumptions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import ConfigFileError, InvalidRequestError
from .params import total_params
from .specs import ModelSpec

# (max size in B, hidden, heads, intermediate): widths of Llama 3.2 1B/3B, Llama 3 8B,
# Llama 2 13B, Qwen2.5 32B, Llama 3 70B, Mistral Large, Llama 3.1 405B.
_LADDER = (
    (1.0, 1024, 16, 4096),
    (2.0, 2048, 32, 8192),
    (5.0, 3072, 24, 8192),
    (10.0, 4096, 32, 14336),
    (20.0, 5120, 40, 13824),
    (45.0, 5120, 40, 27648),
    (100.0, 8192, 64, 28672),
    (200.0, 12288, 96, 28672),
    (1e9, 16384, 128, 53248),
)
MAX_PARAMS_B = 10_000.0
"""Largest model size accepted, in billions (10T; the largest published models are ~1-2T)."""
_SIZE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(b|bn|billion|billions|m|million|t|trillion)?\s*(?:params|parameters)?\s*$",
    re.IGNORECASE,
)


def parse_size(text: str) -> float | None:
    """Parse '13B', '1.5b', '70 billion', '350M' into billions; None when it is not a size."""
    m = _SIZE.match(text)
    if not m or not m.group(2):
        return None
    value = float(m.group(1))
    unit = m.group(2).lower()
    if unit.startswith("m"):
        value /= 1000
    elif unit.startswith("t"):
        value *= 1000
    return value


def synthetic_model(params_b: float) -> ModelSpec:
    """A documented Llama-style architecture with about ``params_b`` billion parameters.

    Raises InvalidRequestError unless 0 < params_b <= MAX_PARAMS_B (10,000B)."""
    if not 0 < params_b <= MAX_PARAMS_B:  # also False for NaN
        raise InvalidRequestError(
            "model", f"{params_b:g}B",
            f"must be more than 0 and at most {MAX_PARAMS_B:,.0f}B (10T parameters)")
    _, hidden, heads, inter = next(row for row in _LADDER if params_b <= row[0])
    vocab = 32000 if params_b < 1.0 else 128256
    per_layer = hidden * heads * 128 * 2 + 2 * hidden * 8 * 128 + 3 * hidden * inter + 2 * hidden
    layers = max(1, round((params_b * 1e9 - 2 * vocab * hidden) / per_layer))
    return ModelSpec(
        id=f"synthetic-{params_b:g}b",
        name=f"{params_b:g}B (synthetic Llama-style)",
        params_b=params_b,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=8,
        head_dim=128,
        intermediate=inter,
        vocab=vocab,
        max_position=131072,
        synthetic=True,
        source="synthetic: Llama-style shape solved for the requested size (see synthetic.py)",
    )


def _get(cfg: dict[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in cfg and cfg[n] is not None:
            return cfg[n]
    return default


def model_from_config(path: str) -> ModelSpec:
    """Read a local Hugging Face ``config.json`` (file or folder) into a ModelSpec, offline."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "config.json"
    try:
        cfg = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigFileError(str(p), f"{type(e).__name__}: {e}") from None
    if not isinstance(cfg, dict):
        raise ConfigFileError(str(p), "not a JSON object")
    if isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg, **cfg["text_config"]}
    dim = _Dims(str(p), cfg)
    hidden = dim.require("hidden_size", "n_embd", "d_model")
    heads = dim.require("num_attention_heads", "n_head")
    layers = dim.require("num_hidden_layers", "n_layer", "num_layers")
    vocab = dim.require("vocab_size", "padded_vocab_size")
    kv = dim.optional("num_key_value_heads", "multi_query_group_num", default=heads, minimum=1)
    experts = dim.optional("num_local_experts", "num_experts", "n_routed_experts", default=0)
    kv_lora = dim.optional("kv_lora_rank", default=0)
    inter = dim.optional("intermediate_size", "ffn_hidden_size", "n_inner", default=4 * hidden,
                         minimum=1)
    act = str(_get(cfg, "hidden_act", "activation_function", default="silu"))
    gated = act in ("silu", "swiglu", "gelu_pytorch_tanh") or "glu" in act or experts > 0
    spec: dict[str, Any] = dict(
        id=p.parent.name or "config",
        name=f"{p.parent.name or 'model'} (from config.json)",
        params_b=1.0,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=heads if kv_lora else kv,
        head_dim=dim.optional("head_dim", default=max(1, hidden // heads), minimum=1),
        intermediate=inter,
        vocab=vocab,
        tied_embeddings=bool(_get(cfg, "tie_word_embeddings", default=False)),
        mlp="gated" if gated else "plain",
        qkv_bias=bool(_get(cfg, "attention_bias", "qkv_bias", default=False)),
        max_position=dim.optional("max_position_embeddings", "seq_length", default=4096,
                                  minimum=1),
        native_dtype={"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(
            str(_get(cfg, "torch_dtype", "dtype", default="bfloat16")), "bf16"
        ),
        attention_dropout=float(_get(cfg, "attention_dropout", "attn_pdrop", "attn_dropout_prob",
                                     default=0.0) or 0.0),
        source=f"local file {p}",
    )
    if experts:
        moe_i = dim.optional("moe_intermediate_size", default=inter, minimum=1)
        spec.update(
            num_experts=experts,
            experts_per_token=dim.optional("num_experts_per_tok", "top_k", default=2, minimum=1),
            moe_intermediate=moe_i,
            shared_experts=dim.optional("n_shared_experts", default=0),
            shared_expert_intermediate=dim.optional("shared_expert_intermediate_size", default=0),
            first_dense_layers=dim.optional("first_k_dense_replace", default=0),
        )
    if kv_lora:
        spec.update(
            kv_lora_rank=kv_lora,
            q_lora_rank=dim.optional("q_lora_rank", default=0),
            qk_rope_head_dim=dim.optional("qk_rope_head_dim", default=64, minimum=1),
            qk_nope_head_dim=dim.optional("qk_nope_head_dim", default=128),
            v_head_dim=dim.optional("v_head_dim", default=128, minimum=1),
        )
        spec["head_dim"] = spec["qk_rope_head_dim"] + spec["qk_nope_head_dim"]
    if spec["kv_heads"] > heads:
        raise ConfigFileError(str(p), f"num_key_value_heads={kv} is more than "
                                      f"num_attention_heads={heads}")
    try:
        draft = ModelSpec(**spec)
        params_b = total_params(draft) / 1e9
    except (ValueError, ArithmeticError) as e:
        raise ConfigFileError(str(p), str(e).splitlines()[-1]) from None
    if not 0 < params_b <= MAX_PARAMS_B:
        raise ConfigFileError(str(p), f"describes {params_b:,.0f}B parameters; at most "
                                      f"{MAX_PARAMS_B:,.0f}B are supported")
    return draft.model_copy(update={"params_b": params_b})


MAX_DIM = 10_000_000
"""Largest accepted value of any one config.json dimension (hidden size, vocab, layers, ...)."""


class _Dims:
    """Whole-number dimensions read from a config.json, each checked, errors naming the field."""

    def __init__(self, path: str, cfg: dict[str, Any]) -> None:
        self.path = path
        self.cfg = cfg

    def _read(self, names: tuple[str, ...]) -> tuple[str, Any]:
        for n in names:
            if self.cfg.get(n) is not None:
                return n, self.cfg[n]
        return names[0], None

    def _check(self, name: str, value: Any, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigFileError(self.path, f"{name}={value!r} is not a whole number")
        if value != value or value in (float("inf"), float("-inf")) or int(value) != value:
            raise ConfigFileError(self.path, f"{name}={value!r} is not a whole number")
        if not minimum <= value <= MAX_DIM:
            raise ConfigFileError(self.path, f"{name}={value!r} must be between {minimum} "
                                             f"and {MAX_DIM:,}")
        return int(value)

    def require(self, *names: str) -> int:
        """A dimension that must be present and at least 1."""
        name, value = self._read(names)
        if value is None:
            raise ConfigFileError(self.path, f"missing {name} (needs hidden_size, "
                                             "num_attention_heads, num_hidden_layers, vocab_size)")
        return self._check(name, value, 1)

    def optional(self, *names: str, default: int, minimum: int = 0) -> int:
        """A dimension with a default when absent (``null`` counts as absent)."""
        name, value = self._read(names)
        return default if value is None else self._check(name, value, minimum)
