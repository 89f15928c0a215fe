"""Weight storage formats (``data/quant.toml``): bytes per weight including scales and zeros."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict


class QuantFormat(BaseModel):
    """One quantized weight layout, read from the data file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    weight_bits: float
    block: int = 0
    scale_bits: int = 0
    zero_bits: int = 0
    dq_scale_bits: int = 0
    dq_block: int = 0
    applies_to: Literal["linear", "all", "experts"] = "linear"
    source: str = ""

    def bits_per_weight(self, double_quant: bool = False) -> float:
        """Average stored bits per weight: payload + per-block scale (and zero point)."""
        bits = self.weight_bits
        if self.block:
            if double_quant and self.dq_scale_bits:
                bits += self.dq_scale_bits / self.block + 32 / (self.block * self.dq_block)
            else:
                bits += self.scale_bits / self.block
            bits += self.zero_bits / self.block
        return bits


@cache
def quant_formats() -> dict[str, QuantFormat]:
    """All formats by id (loaded once)."""
    with resources.files("tools.estimator").joinpath("data", "quant.toml").open("rb") as f:
        data = tomllib.load(f)
    return {q["id"]: QuantFormat(**q) for q in data["quant"]}


def quant_format(quant_id: str) -> QuantFormat:
    """The format for a quant id (validated upstream by the request's Literal type)."""
    return quant_formats()[quant_id]
