"""The model and GPU catalogs: lazy loading of ``data/*.toml``, name lookup and suggestions.

Lookups accept the catalog id, the Hugging Face id (with or without the organisation), the display
name and any alias, ignoring case, spaces, dashes and suffixes such as ``-hf``, ``-Instruct`` or
``-Chat``. Unknown names raise an error listing the closest matches. A bare size ("13B", "1.5b",
"70 billion") gives a documented synthetic architecture (``synthetic.py``); a path to a local
``config.json`` is read directly (``hf_config.py``); nothing touches the network.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import UnknownGpuError, UnknownModelError
from .specs import GpuSpec, ModelSpec

_SUFFIXES = (
    "hf", "instruct", "chat", "it", "base", "pretrain", "pt", "fp16", "bf16", "fp8", "awq",
    "gptq", "int4", "int8", "gguf", "bnb", "4bit", "8bit", "ms", "v1",
)
_VENDOR_WORDS = ("nvidia", "geforce", "tesla", "amd", "instinct", "quadro")


def _load_toml(name: str) -> dict[str, Any]:
    with resources.files("tools.estimator").joinpath("data", name).open("rb") as f:
        return tomllib.load(f)


def model_key(text: str) -> str:
    """Normalise a model name: drop the org, common suffixes, case and separators."""
    s = text.strip().lower()
    s = s.rsplit("/", 1)[-1]
    s = re.sub(r"(?<=\d)\.(?=\d)", "p", s)  # "2.5" -> "2p5" so Qwen2.5-7B != Qwen2-57B
    parts = [p for p in re.split(r"[^a-z0-9]+", s) if p]
    while len(parts) > 1 and parts[-1] in _SUFFIXES:
        parts.pop()
    if parts and parts[0] == "meta" and len(parts) > 1:
        parts = parts[1:]
    return "".join(parts)


def gpu_key(text: str) -> str:
    """Normalise a GPU name: drop vendor words, case, separators; '80GB' and '80G' are equal."""
    s = text.strip().lower()
    for w in _VENDOR_WORDS:
        s = re.sub(rf"\b{w}\b", " ", s)
    s = re.sub(r"(\d+)\s*gb\b", r"\1g", s)
    s = re.sub(r"(\d+)\s*g\b", r"\1g", s)
    return re.sub(r"[^a-z0-9]+", "", s)


@cache
def models() -> tuple[ModelSpec, ...]:
    """All catalog models, validated (loaded once)."""
    data = _load_toml("models.toml")
    return tuple(ModelSpec(**entry) for entry in data["model"])


@cache
def gpus() -> tuple[GpuSpec, ...]:
    """All catalog GPUs, validated (loaded once)."""
    data = _load_toml("gpus.toml")
    return tuple(GpuSpec(**entry) for entry in data["gpu"])


@cache
def model_index() -> dict[str, ModelSpec]:
    """Every normalised name (id, display name, HF id, alias) -> its model."""
    index: dict[str, ModelSpec] = {}
    for m in models():
        for name in (m.id, m.name, m.hf_id, *m.aliases):
            if name:
                index.setdefault(model_key(name), m)
    return index


@cache
def gpu_index() -> dict[str, GpuSpec]:
    """Every normalised name (id, display name, alias) -> its GPU."""
    index: dict[str, GpuSpec] = {}
    for g in gpus():
        for name in (g.id, g.name, *g.aliases):
            index.setdefault(gpu_key(name), g)
    return index


def _suggest(query: str, names: dict[str, str], n: int = 3) -> list[str]:
    """Closest display names to ``query``: the shortest name it begins ("RTX 5000" -> "RTX 5000
    Ada"), then fuzzy on normalised keys, then substring matches."""
    keys = list(names)
    longer = sorted((k for k in keys if query and k.startswith(query) and k != query), key=len)
    hits = longer[:1] + [k for k in difflib.get_close_matches(query, keys, n=n, cutoff=0.5)
                         if k not in longer[:1]]
    if len(hits) < n and query:
        hits += [k for k in keys if (query in k or k in query) and k not in hits][: n - len(hits)]
    seen: list[str] = []
    for k in hits:
        if names[k] not in seen:
            seen.append(names[k])
    return seen[:n]


def find_model(name: str) -> ModelSpec:
    """Resolve a catalog model by id, HF id, name or alias; raise with suggestions otherwise."""
    key = model_key(name)
    index = model_index()
    if key in index:
        return index[key]
    names = {k: m.hf_id or m.name for k, m in index.items()}
    raise UnknownModelError(
        name,
        _suggest(key, names),
        hint="Give a catalog name (see `headroom models`), a size like '13B', or a config.json path",
    )


# bare names that stand for several cards: the catalog maps them to the most common one
AMBIGUOUS_GPUS = {
    "a100": "'A100' taken as the 80 GB SXM4 card; say 'A100 40GB' for the 40 GB one",
    "v100": "'V100' taken as the 16 GB card; say 'V100 32GB' for the 32 GB one",
    "h100": "'H100' taken as the 80 GB SXM5 card; say 'H100 PCIe' or 'H100 NVL' otherwise",
    "4090d": "RTX 4090 D has the same 24 GB as the RTX 4090",
    "rtx4090d": "RTX 4090 D has the same 24 GB as the RTX 4090",
    "3080": "'RTX 3080' taken as the original 10 GB card; say 'RTX 3080 12GB' for the 12 GB one",
    "rtx3080": "'RTX 3080' taken as the original 10 GB card; say 'RTX 3080 12GB' for the 12 GB one",
    "3060": "'RTX 3060' taken as the 12 GB card; the later 8 GB RTX 3060 is not in the catalog",
    "rtx3060": "'RTX 3060' taken as the 12 GB card; the later 8 GB RTX 3060 is not in the catalog",
    "4060ti": "'RTX 4060 Ti' taken as the 8 GB card; say 'RTX 4060 Ti 16GB' for the 16 GB one",
    "rtx4060ti": "'RTX 4060 Ti' taken as the 8 GB card; say 'RTX 4060 Ti 16GB' for the 16 GB one",
    "p100": "'P100' taken as the 16 GB card; say 'P100 12GB' for the 12 GB PCIe one",
    "rtx6000": ("'RTX 6000' taken as the RTX 6000 Ada Generation (48 GB); the Turing Quadro RTX 6000 "
                "(24 GB) is not in the catalog"),
}


def gpu_note(name: str) -> str:
    """A note for names that stand for several cards (empty when unambiguous)."""
    return AMBIGUOUS_GPUS.get(gpu_key(name), "")


AMBIGUOUS_GPU_CODES = {"a100": "gpu_a100_80gb", "v100": "gpu_v100_16gb", "h100": "gpu_h100_sxm",
                       "4090d": "gpu_4090d", "rtx4090d": "gpu_4090d",
                       "3080": "gpu_3080_10gb", "rtx3080": "gpu_3080_10gb",
                       "3060": "gpu_3060_12gb", "rtx3060": "gpu_3060_12gb",
                       "4060ti": "gpu_4060ti_8gb", "rtx4060ti": "gpu_4060ti_8gb",
                       "p100": "gpu_p100_16gb", "rtx6000": "gpu_rtx6000_ada"}


def gpu_note_code(name: str) -> str:
    """The assumption code (data/assumptions.toml) for an ambiguous GPU name, else ''."""
    return AMBIGUOUS_GPU_CODES.get(gpu_key(name), "")


def find_gpu(name: str) -> GpuSpec:
    """Resolve a catalog GPU by id, name or alias ("A10" and "A10G" are different cards)."""
    key = gpu_key(name)
    index = gpu_index()
    if key in index:
        return index[key]
    # "A800 (80GB)", "H100 80G": drop the size when the base name alone is unambiguous and agrees
    m = re.match(r"^(.*?)(\d+)g$", key)
    if m and m.group(1) in index and abs(index[m.group(1)].memory_gib - int(m.group(2))) < 1:
        return index[m.group(1)]
    names = {k: g.name for k, g in index.items()}
    raise UnknownGpuError(name, _suggest(key, names), hint="See `headroom gpus` for the catalog")


def search_models(query: str = "") -> list[ModelSpec]:
    """Catalog models whose id, name, HF id or aliases contain the query (all when empty)."""
    q = model_key(query) if query else ""
    out = []
    for m in models():
        keys = [model_key(x) for x in (m.id, m.name, m.hf_id, m.family, *m.aliases) if x]
        if not q or any(q in k for k in keys):
            out.append(m)
    return out


def search_gpus(query: str = "") -> list[GpuSpec]:
    """Catalog GPUs whose id, name or aliases contain the query (all when empty)."""
    q = gpu_key(query) if query else ""
    return [
        g for g in gpus()
        if not q or any(q in gpu_key(x) for x in (g.id, g.name, g.vendor, *g.aliases))
    ]


def looks_like_path(text: str) -> bool:
    """True when the model argument names a local file or directory (config.json).

    A name no file system could hold (too long, NUL bytes) is not a path: it gets the
    unknown-model error instead of an OSError."""
    if text.endswith(".json"):
        return True
    try:
        return Path(text).expanduser().is_dir()
    except (OSError, ValueError):
        return False
