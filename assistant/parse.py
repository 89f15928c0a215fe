"""Deterministic understanding of a sizing question, English or Chinese: ``parse(text) -> Ask``.

Pure (no I/O): catalog names are matched against the estimator's model and GPU catalogs over
windows of up to four adjacent words ("Llama 2 13B", "A100 80GB", "RTX 4090"); everything else
comes from the patterns in :mod:`assistant.lexicon`. Run ``python -m assistant.parse "..."`` to
see what a question becomes.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from tools.estimator.catalog import gpu_index, gpu_key, model_index, model_key

from . import lexicon as lx
from .ask import Ask

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PASTE = re.compile(r"NVIDIA-SMI|\d+\s*MiB\s*/\s*\d+\s*MiB|memory\.total|^GPU \d+: .*UUID|\"card\d+\"",
                    re.M)
Span = tuple[int, int]


def normalise(text: str) -> str:
    """NFKC (full-width to ASCII), curly quotes, single spaces; case is kept."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    text = re.sub(r"\b(\d+)\s*[x×*]\s*(?=[A-Za-z])", r"\1x ", text)  # "8xH100" -> "8x H100"
    return re.sub(r"[ \t]+", " ", text).strip()


def split_paste(text: str) -> tuple[str, str]:
    """(question, pasted GPU-tool output) when the message carries nvidia-smi/rocm-smi output."""
    match = _PASTE.search(text)
    if not match:
        return text, ""
    start = text.rfind("\n", 0, match.start()) + 1
    return text[:start].strip(), text[start:]


def _windows(text: str, max_words: int = 4) -> Iterator[tuple[int, int, str]]:
    tokens = [(m.start(), m.start() + len(m.group().rstrip(".-/"))) for m in _TOKEN.finditer(text)]
    for i, (start, _) in enumerate(tokens):
        for j in range(i, min(len(tokens), i + max_words)):
            if j > i and not re.fullmatch(r"[\s-]*", text[tokens[j - 1][1]:tokens[j][0]]):
                break
            yield start, tokens[j][1], text[start:tokens[j][1]]


def _catalog_match(text: str, index: dict[str, Any], key: Callable[[str], str],
                   skip: Span | None = None) -> tuple[Any, Span] | None:
    best: tuple[Any, Span] | None = None
    for start, end, span in _windows(text):
        if skip and start < skip[1] and end > skip[0]:
            continue
        spec = index.get(key(span))
        if spec is None and re.search(r"\ds$", span):
            spec = index.get(key(span[:-1]))
        if spec is not None and (best is None or end - start > best[1][1] - best[1][0]):
            best = (spec, (start, end))
    return best


def _num(word: str) -> int | None:
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    return lx.NUMBER_WORDS.get(word)


def _gpu_count(low: str, span: Span | None) -> int | None:
    if span is not None:
        for pattern in lx.COUNT_BEFORE:
            if m := pattern.search(low[max(0, span[0] - 24):span[0]]):
                return _num(m.group(1))
        for pattern in lx.COUNT_AFTER:
            if m := pattern.search(low[span[1]:span[1] + 16]):
                return _num(m.group(1))
    for pattern in lx.COUNT_ANYWHERE:
        if m := pattern.search(low):
            return _num(m.group(1))
    return None


def _memory(low: str, skip: Span | None) -> float | None:
    for m in lx.MEMORY.finditer(low):
        if skip and m.start() < skip[1] and m.end() > skip[0]:
            continue
        if lx.MEMORY_CONTEXT_AFTER.search(low[m.end():m.end() + 12]) or \
                lx.MEMORY_CONTEXT_BEFORE.search(low[max(0, m.start() - 12):m.start()]):
            return float(m.group(1))
    return None


def _first_int(patterns: list[re.Pattern[str]], low: str, scale: bool = False) -> int | None:
    for pattern in patterns:
        if m := pattern.search(low):
            value = float(m.group(1))
            unit = m.group(2) if scale and m.lastindex and m.lastindex >= 2 else None
            value *= {"k": 1024, "m": 1024 * 1024}.get(unit or "", 1)
            return int(value) if value >= 1 else None
    return None


def _workloads(low: str, quant: str | None, dtype: str | None) -> list[str]:
    out = []
    if lx.QLORA.search(low):
        out.append("qlora")
    if lx.LORA.search(low):
        out.append("qlora" if quant == "nf4" and "qlora" not in out else "lora")
    if lx.FULL.search(low):
        out.append("full")
    if not out and lx.TRAIN.search(low):
        out = ["qlora"] if quant == "nf4" else ["full", "lora"] if dtype else ["full", "lora", "qlora"]
    if not out and lx.SERVE.search(low):
        out = ["serve"]
    if not out and lx.INFER.search(low):
        out = ["inference"]
    order = ("full", "lora", "qlora", "inference", "serve")
    return sorted(set(out), key=order.index)


def _settings(low: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    weights_text = lx.KV_FP8.sub(" ", low)  # "fp8 kv cache" is about the cache, not the weights
    for pattern, values in lx.QUANT_RULES:
        if pattern.search(weights_text):
            for k, v in values.items():
                found.setdefault(k, v)
    if lx.KV_FP8.search(low):
        found["kv_cache_dtype"] = "fp8"
    found["optimizer"] = next((o for p, o in lx.OPTIMIZER_RULES if p.search(low)), None)
    found["seq_len"] = _first_int(lx.SEQ, low, scale=True)
    found["batch_size"] = _first_int(lx.BATCH, low)
    found["users"] = _first_int(lx.USERS, low)
    found["tensor_parallel"] = _first_int(lx.TP, low)
    if m := lx.ZERO.search(low):
        found["zero_stage"] = int(m.group(1) or m.group(2))
    elif lx.FSDP.search(low):
        found["zero_stage"] = 3
    if lx.OFFLOAD.search(low):
        found["offload"] = "optimizer+params" if lx.OFFLOAD_PARAMS.search(low) else "optimizer"
    if lx.NO_CKPT.search(low):
        found["grad_ckpt"] = False
    if lx.DEEPSPEED.search(low):
        found["engine"] = "deepspeed"
    if found.get("quant") == "gguf-q4_k_m" or "q8_0" in str(found.get("quant")):
        found["engine"] = "llama.cpp"
    return found


def _model(text: str, low: str) -> tuple[dict[str, Any], Span | None]:
    hit = _catalog_match(text, model_index(), model_key)
    if hit:
        spec, span = hit
        return {"model": spec.id, "model_name": spec.name}, span
    if m := lx.SIZE.search(low):
        size = m.group(1)
        return {"model": f"{size}B", "model_name": f"a {size}B model"}, (m.start(), m.end())
    if m := lx.SIZE_ZH.search(low):
        size = f"{float(m.group(1)) / 10:g}"
        return {"model": f"{size}B", "model_name": f"a {size}B model"}, (m.start(), m.end())
    if m := lx.FAMILY.search(low):
        return {"family": m.group(1)}, None
    return {}, None


def _intent(ask: Ask, low: str) -> tuple[str | None, str | None]:
    if lx.PLAN.search(low) and (ask.has_model or not ask.has_gpu):
        return "plan", None
    target = next((t for p, t in lx.TARGETS if p.search(low)), None)
    numeric = bool(lx.NUMBER.search(low)) or target in ("users", "max_batch", "max_seq")
    if ask.has_model and (numeric or (target and not lx.FIT.search(low))):
        return "number", target or "total"
    if ask.has_model or ask.has_gpu:
        return "fit", None
    if ask.followup and ask.mentions():
        return None, None
    if lx.EXPLAIN.search(low):
        return "explain", None
    if numeric:
        return "number", target or "total"
    if lx.FIT.search(low):
        return "fit", None
    if ask.mentions() and not lx.EXPLAIN_WEAK.search(low):
        return None, None
    return "explain", None


def parse(text: str) -> Ask:
    """Understand one message (without conversation context; see :func:`assistant.ask.merge`)."""
    text = normalise(text)
    low = text.lower()
    fields: dict[str, Any] = {"lang": "zh" if _CJK.search(text) else "en", "query": text}
    model, model_span = _model(text, low)
    fields.update(model)
    gpu_hit = _catalog_match(text, gpu_index(), gpu_key, skip=model_span)
    gpu_span = gpu_hit[1] if gpu_hit else None
    if gpu_hit:
        fields.update(gpu=gpu_hit[0].id, gpu_name=gpu_hit[0].name)
    else:
        fields["gpu_memory_gb"] = _memory(low, model_span)
    fields["gpu_local"] = bool(lx.LOCAL.search(low)) and not gpu_hit
    fields["num_gpus"] = _gpu_count(low, gpu_span)
    settings = {k: v for k, v in _settings(low).items() if v is not None}
    fields.update(settings)
    fields["workloads"] = _workloads(low, settings.get("quant"), settings.get("weight_dtype"))
    fields["followup"] = bool(lx.FOLLOWUP.search(low))
    ask = Ask(**fields)
    intent, target = _intent(ask, low)
    return ask.model_copy(update={"intent": intent, "target": target})


if __name__ == "__main__":  # pragma: no cover - developer aid
    print(parse(" ".join(sys.argv[1:])).model_dump_json(indent=2, exclude_defaults=True))
