"""Structured assumptions: a stable ``code``, English ``text`` and ``params`` for other languages.

Every assumption the estimator records is one of the codes in ``data/assumptions.toml``; each code
has an English template (``en``) and a Chinese one (``zh``) formatted with the same ``params``, so
front ends can render an estimate in either language without parsing English sentences.
``Estimate.assumptions`` keeps the English strings (compatibility); ``Estimate.assumption_items``
carries the structured records.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict

LANGS = ("en", "zh")


class Assumption(BaseModel):
    """One assumption: stable code, English text, and the values its templates need."""

    model_config = ConfigDict(frozen=True)

    code: str
    text: str
    params: dict[str, Any] = {}

    def render(self, lang: str = "en") -> str:
        """The assumption in ``lang`` ('en' or 'zh'); English when the language is unknown."""
        if lang == "en":
            return self.text
        tmpl = templates().get(self.code, {}).get(lang)
        return tmpl.format(**self.params) if tmpl else self.text


@cache
def templates() -> dict[str, dict[str, str]]:
    """{code: {'en': template, 'zh': template}} from ``data/assumptions.toml``."""
    with resources.files("tools.estimator").joinpath("data", "assumptions.toml").open("rb") as f:
        data = tomllib.load(f)
    return {code: dict(entry) for code, entry in data.items()}


def assumption(code: str, **params: Any) -> Assumption:
    """Build an assumption from its code; raises KeyError for a code missing from the data file."""
    tmpl = templates()[code]
    return Assumption(code=code, text=tmpl["en"].format(**params), params=params)


def texts(items: tuple[Assumption, ...] | list[Assumption]) -> list[str]:
    """English texts, in order, without duplicates."""
    return list(dict.fromkeys(a.text for a in items))


def unique(items: list[Assumption]) -> list[Assumption]:
    """Drop repeated assumptions (same code and text), keeping the first."""
    seen: set[tuple[str, str]] = set()
    out: list[Assumption] = []
    for a in items:
        key = (a.code, a.text)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out
