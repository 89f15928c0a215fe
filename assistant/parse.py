"""Deterministic understanding of a sizing question, English or Chinese: ``parse(text) -> Ask``.

Pure (no I/O): catalog names are matched against the estimator's model and GPU catalogs over
windows of up to four adjacent words ("Llama 2 13B", "A100 80GB", "RTX 4090"); negated switches
are found first (:mod:`assistant.negation`) and blanked, so "without quantization" can never turn
quantization on; everything else comes from the patterns in :mod:`assistant.lexicon`, and the
question's kind from :mod:`assistant.kinds`. Run ``python -m assistant.parse "..."`` to see what a
question becomes.
"""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
import unicodedata
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from tools.estimator.catalog import gpu_index, gpu_key, model_index, model_key, models

from . import kinds, negation
from . import lexicon as lx
from .ask import Ask

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PASTE_LINE = re.compile(
    r"NVIDIA-SMI|Driver Version|CUDA Version|\d+\s*MiB\s*/\s*\d+\s*MiB|memory\.(?:total|used|free)|"
    r"^\s*GPU \d+: .*(?:UUID|\()|\"card\d+\"|^\s*[|+][-=+| ]|^\s*\|.*\|\s*$|^\s*[\[\]{}],?\s*$|"
    r"^\s*\"[^\"]+\"\s*:|^\s*\d+,\s*[^,]+,\s*\d+\s*MiB|^\s*[^,\n]+,\s*\d+\s*MiB\s*(?:,|$)|^\s*index,\s*name|^\s*=+\s*ROCm|"
    r"^\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4}\s*$|"
    r"^\s*\S+@\S+[:#$]|^\s*\$\s*(?:nvidia|rocm)-smi|^\s*(?:nvidia|rocm)-smi\b|Processes:|"
    r"GPU\[\d+\]|VRAM Total|^\s*=+\s*$", re.M)
_PASTE_CORE = re.compile(r"NVIDIA-SMI|\d+\s*MiB\s*/\s*\d+\s*MiB|memory\.total|^\s*GPU \d+: .*UUID|"
                         r"\"card\d+\"|\"memoryInfo\"|VRAM Total", re.M)
Span = tuple[int, int]


def normalise(text: str) -> str:
    """NFKC (full-width to ASCII), curly quotes, single spaces; case is kept."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
    text = re.sub(r"\b(\d+)\s*[x×*]\s*(?=[A-Za-z])", r"\1x ", text)  # "8xH100" -> "8x H100"
    return re.sub(r"[ \t]+", " ", text).strip()


def split_paste(text: str) -> tuple[str, str]:
    """(question, pasted GPU-tool output): the paste may sit before, after or between sentences.

    The paste runs from the first to the last line that looks like nvidia-smi / rocm-smi /
    NVML output; the question is every other line (and prose lines inside the paste)."""
    if not _PASTE_CORE.search(text):
        return text, ""
    lines = text.split("\n")
    marks = [bool(_PASTE_LINE.search(line)) or bool(_PASTE_CORE.search(line)) for line in lines]
    first = marks.index(True)
    last = len(marks) - 1 - marks[::-1].index(True)
    question = lines[:first] + [line for line in lines[first:last + 1]
                                if not _PASTE_LINE.search(line) and _looks_like_prose(line)]
    question += lines[last + 1:]
    return "\n".join(q for q in question if q.strip()).strip(), "\n".join(lines[first:last + 1])


def _looks_like_prose(line: str) -> bool:
    words = re.findall(r"[A-Za-z]{2,}|[\u3400-\u9fff]", line)
    return len(words) >= 4 and "|" not in line and not re.search(r"\d+\s*MiB", line)


def _windows(text: str, max_words: int = 4) -> Iterator[tuple[int, int, str]]:
    tokens = [(m.start(), m.start() + len(m.group().rstrip(".-/"))) for m in _TOKEN.finditer(text)]
    for i, (start, _) in enumerate(tokens):
        for j in range(i, min(len(tokens), i + max_words)):
            if j > i and not re.fullmatch(r"[\s-]*", text[tokens[j - 1][1]:tokens[j][0]]):
                break
            yield start, tokens[j][1], text[start:tokens[j][1]]


def _catalog_matches(text: str, index: dict[str, Any], key: Callable[[str], str],
                     skip: list[Span] = ()) -> list[tuple[Any, Span]]:  # type: ignore[assignment]
    """Every catalog entry named in ``text``, longest match first, no overlaps, in text order."""
    hits: list[tuple[Any, Span]] = []
    for start, end, span in _windows(text):
        if any(start < e and end > s for s, e in skip):
            continue
        spec = index.get(key(span))
        if spec is None and re.search(r"\ds$", span):
            spec = index.get(key(span[:-1]))
        if spec is not None:
            hits.append((spec, (start, end)))
    hits.sort(key=lambda h: h[1][0] - h[1][1])
    chosen: list[tuple[Any, Span]] = []
    for spec, where in hits:
        if not any(where[0] < s[1] and where[1] > s[0] for _, s in chosen):
            chosen.append((spec, where))
    return sorted(chosen, key=lambda h: h[1][0])


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


def _memory(low: str, skip: list[Span]) -> float | None:
    for m in lx.MEMORY.finditer(low):
        if any(m.start() < e and m.end() > s for s, e in skip):
            continue
        if lx.MEMORY_CONTEXT_AFTER.search(low[m.end():m.end() + 12]) or \
                lx.MEMORY_CONTEXT_BEFORE.search(low[max(0, m.start() - 12):m.start()]):
            return float(m.group(1))
    return None


def _ints(patterns: list[re.Pattern[str]], low: str, scale: bool = False) -> list[int]:
    out: list[int] = []
    for pattern in patterns:
        for m in pattern.finditer(low):
            value = float(m.group(1))
            unit = m.group(2) if scale and m.lastindex and m.lastindex >= 2 else None
            value *= {"k": 1024, "m": 1024 * 1024}.get(unit or "", 1)
            if value >= 1 and int(value) not in out:
                out.append(int(value))
    return out


def _first_int(patterns: list[re.Pattern[str]], low: str, scale: bool = False) -> int | None:
    for pattern in patterns:
        if m := pattern.search(low):
            value = float(m.group(1))
            unit = m.group(2) if scale and m.lastindex and m.lastindex >= 2 else None
            value *= {"k": 1024, "m": 1024 * 1024}.get(unit or "", 1)
            return int(value) if value >= 1 else None
    return None


def _workloads(low: str, quant: str | None, dtype: str | None, ruled_out: list[str]) -> list[str]:
    out = []
    if lx.QLORA.search(low):
        out.append("qlora")
    if lx.LORA.search(low):
        out.append("qlora" if quant == "nf4" and "qlora" not in out else "lora")
    if lx.FULL.search(low):
        out.append("full")
    training = bool(out) or bool(lx.TRAIN.search(low)) or bool(set(ruled_out) & {"lora", "qlora"})
    out = [w for w in out if w not in ruled_out]
    if not out and training:
        if "lora" in ruled_out:
            out = ["full"]
        elif quant == "nf4":
            out = ["qlora"]
        elif "qlora" in ruled_out:
            out = ["lora"] if lx.LORA.search(low) or dtype or quant == "none" else ["full", "lora"]
        else:
            out = ["full", "lora"] if dtype or quant == "none" else ["full", "lora", "qlora"]
    # "SGLang (not vLLM)": ruling out one serving engine is not ruling out serving
    if not out and lx.SERVE.search(low) and ("serve" not in ruled_out or lx.OTHER_SERVER.search(low)):
        out = ["serve"]
    if not out and lx.INFER.search(low):
        out = ["inference"]
    if not out and "serve" in ruled_out:
        out = ["inference"]
    order = ("full", "lora", "qlora", "inference", "serve")
    return sorted(set(out), key=order.index)


def _quants(text: str) -> list[str]:
    """Every weight format named (for comparisons: "Q4_K_M vs Q8_0", "bf16 and fp8")."""
    out: list[str] = []
    for pattern, values in lx.QUANT_RULES:
        for _ in pattern.finditer(text):
            value = values.get("quant") or values.get("weight_dtype")
            if value and value not in out:
                out.append(value)
            break
    return out


def _settings(low: str, masked: str, off: dict[str, Any]) -> dict[str, Any]:
    """Every setting the message states; negated switches (``off``) are kept off."""
    found: dict[str, Any] = {k: v for k, v in off.items() if k != "workload_off"}
    _precision(low, masked, found)
    found["optimizer"] = next((o for p, o in lx.OPTIMIZER_RULES if p.search(masked)), None)
    found["seq_len"] = _first_int(lx.SEQ, low, scale=True)
    found["batch_size"] = _first_int(lx.BATCH, low)
    found["users"] = _first_int(lx.USERS, low)
    _parallelism(masked, found)
    if lx.NO_CKPT.search(low):
        found["grad_ckpt"] = False
    elif lx.CKPT_ON.search(masked) and "grad_ckpt" not in off:
        found["grad_ckpt"] = True
    if lx.FLASH_ON.search(masked) and "flash_attn" not in off:
        found["flash_attn"] = True
    engine = _engine(masked, found)
    if engine:
        found["engine"] = engine
    found.update(_rank(masked))
    return found


_RANKS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def _rank(masked: str) -> dict[str, int]:
    """The LoRA rank asked about: the target of a change ("from 16 to 64"), the first of a
    comparison ("rank 64 vs rank 16"), else the last one named."""
    target = [r for r in _ints([lx.RANK_TO], masked) if r in _RANKS]
    ranks = [r for r in _ints([lx.RANK], masked) if r in _RANKS]
    if target:
        return {"lora_r": target[-1]}
    if len(ranks) > 1 and lx.VERSUS.search(masked):
        return {"lora_r": ranks[0]}
    return {"lora_r": ranks[-1]} if ranks else {}


def _precision(low: str, masked: str, found: dict[str, Any]) -> None:
    """Weight quantization or dtype, and an FP8 KV cache."""
    weights_text = lx.KV_FP8.sub(" ", masked)  # "fp8 kv cache" is about the cache, not the weights
    for pattern, values in lx.QUANT_RULES:
        if pattern.search(weights_text):
            for k, v in values.items():
                if k not in found or found[k] == "none":
                    found[k] = v
            break
    if lx.KV_FP8.search(low):
        found["kv_cache_dtype"] = "fp8"


def _parallelism(masked: str, found: dict[str, Any]) -> None:
    """Tensor parallel, ZeRO/FSDP and offload."""
    tp = _first_int(lx.TP, masked)
    if tp is not None:
        found["tensor_parallel"] = tp
    if m := lx.ZERO.search(masked):
        found["zero_stage"] = int(m.group(1) or m.group(2))
    elif lx.FSDP.search(masked):
        found["zero_stage"] = 3
    if lx.OFFLOAD.search(masked):
        found["offload"] = "optimizer+params" if lx.OFFLOAD_PARAMS.search(masked) else "optimizer"


def _engine(masked: str, found: dict[str, Any]) -> str | None:
    """The engine the message names (DeepSpeed, llama.cpp or a GGUF file, vLLM, SGLang, HF)."""
    if lx.DEEPSPEED.search(masked):
        return "deepspeed"
    if lx.ENGINE_LLAMACPP.search(masked) or str(found.get("quant", "")).startswith("gguf"):
        return "llama.cpp"
    if lx.ENGINE_VLLM.search(masked):
        return "vllm"
    if lx.ENGINE_SGLANG.search(masked):
        return "sglang"
    if lx.ENGINE_HF.search(masked) and "engine" not in found:
        return "hf"
    return None


@cache
def _families() -> list[tuple[set[str], str, str, str]]:
    raw = tomllib.loads(resources.files("assistant").joinpath("data/families.toml")
                        .read_text("utf-8"))
    return [({model_key(g) for g in c["generic"]}, c["model"], c["en"], c["zh"])
            for c in raw["current"]]


def _current(spec: Any, words: str, lang: str) -> tuple[Any, str]:
    """A family name without a version -> the release people mean today (and a note)."""
    key = model_key(words)
    for generic, model, en, zh in _families():
        if key in generic:
            return model_index().get(model_key(model), spec), zh if lang == "zh" else en
    return spec, ""


def _nearest_models(name: str) -> list[str]:
    names = [m.name for m in models()]
    return difflib.get_close_matches(name, names, n=3, cutoff=0.3)


def _nearest_gpus(name: str) -> list[str]:
    index = gpu_index()
    names = sorted({g.name for g in index.values()})
    keyed = {gpu_key(n): n for n in names}
    close = difflib.get_close_matches(gpu_key(name), list(keyed), n=3, cutoff=0.4)
    return [keyed[k] for k in close]


def _models(text: str, low: str, lang: str) -> tuple[dict[str, Any], list[Span]]:
    hits = _catalog_matches(text, model_index(), model_key)
    if hits:
        out: dict[str, Any] = {"models": []}
        for i, (spec, span) in enumerate(hits):
            spec, note = _current(spec, text[span[0]:span[1]], lang)
            if spec.id not in out["models"]:
                out["models"].append(spec.id)
            if i == 0:
                out.update(model=spec.id, model_name=spec.name, resolved_note=note)
        return out, [s for _, s in hits]
    if m := lx.MODEL_LIKE.search(low):
        name = text[m.start():m.end()]
        return {"unresolved_model": name, "nearest": _nearest_models(name)}, [(m.start(), m.end())]
    if m := lx.SIZE.search(low):
        size = m.group(1)
        return {"model": f"{size}B", "model_name": f"a {size}B model", "bare_size": True},\
            [(m.start(), m.end())]
    if m := lx.SIZE_ZH.search(low):
        size = f"{float(m.group(1)) / 10:g}"
        return {"model": f"{size}B", "model_name": f"a {size}B model", "bare_size": True},\
            [(m.start(), m.end())]
    if m := lx.FAMILY.search(low):
        return {"family": m.group(1)}, []
    return {}, []


def _gpus(text: str, low: str, skip: list[Span]) -> tuple[dict[str, Any], Span | None]:
    hits = _catalog_matches(text, gpu_index(), gpu_key, skip=skip)
    if hits:
        spec, span = hits[0]
        ids = list(dict.fromkeys(s.id for s, _ in hits))
        return {"gpu": spec.id, "gpu_name": spec.name, "gpus": ids}, span
    for m in lx.GPU_LIKE.finditer(low):
        if any(m.start() < e and m.end() > s for s, e in skip):
            continue
        name = text[m.start():m.end()].strip()
        return {"unresolved_gpu": name, "nearest": _nearest_gpus(name)}, (m.start(), m.end())
    return {}, None


def _pick(low: str) -> str:
    """The pasted GPU pointed at: "GPU 1", "the free one"; a GPU named as busy ("GPU 1 被同事占着",
    "gpu 0 is in use") is not the one to use."""
    for m in lx.GPU_PICK.finditer(low):
        if not lx.GPU_BUSY.match(low, m.end()):
            return next(g for g in m.groups() if g is not None)
    return "free" if lx.GPU_FREE.search(low) else ""


def _intent(ask: Ask, low: str) -> tuple[str | None, str | None]:
    kind = ask.kind
    target = next((t for p, t in lx.TARGETS if p.search(low)), None)
    if kind in ("other", "concept"):
        return "explain", None
    if kind == "plan" and (ask.has_model or not ask.has_gpu or not ask.unresolved_model):
        # with a GPU and no model: "what can I run on my 3070?", the models that fit that GPU
        return "plan", None
    if kind == "capacity":
        if lx.KIND_CAPACITY.search(low) and re.search(r"max[-_ ]?model[-_ ]?len|起得来|起来|启动|start|"
                                                       r"launch|boot", low):
            return "fit", None
        target = target if target in ("users", "max_batch", "max_seq") else (
            "users" if re.search(r"user|request|concurr|people|并发|人|同时", low) else
            "max_batch" if re.search(r"batch|批", low) else "max_seq")
        return ("number", target) if ask.has_model else (None, None)
    if kind in ("why", "delta", "compare"):
        return ("number", target or "total") if ask.has_model else ("explain", None)
    if lx.PLAN.search(low) and (ask.has_model or not ask.has_gpu):
        return "plan", None
    numeric = bool(lx.NUMBER.search(low)) or target in ("users", "max_batch", "max_seq")
    if ask.has_model and (numeric or (target and not lx.FIT.search(low))):
        return "number", target or "total"
    if ask.has_model or ask.has_gpu or (ask.followup and ask.unresolved_model):
        return "fit", None  # "换成 Qwen4-72B 呢": a model we do not know, to be asked about
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


def _negations(low: str) -> tuple[list[negation.Negated], str]:
    """Negated mentions whose switch is not named positively later ("from flash to eager")."""
    found = negation.find(low)
    lex = negation.lexicon()
    keep: list[negation.Negated] = []
    for n in found:
        inside = [(o.start, o.end) for o in found if o.switch == n.switch]
        last = max((m.start() for p in lex.mentions.get(n.switch, ()) for m in p.finditer(low)
                    if not any(s <= m.start() < e for s, e in inside)), default=n.start)
        later_negated = any(o.switch == n.switch and o.start >= last for o in found)
        if n.start >= last or later_negated:
            keep.append(n)
    masked = negation.mask(low, found)
    for n in keep:  # a switch that ends negated is blanked everywhere
        for p in lex.mentions.get(n.switch, ()):
            masked = p.sub(lambda m: " " * len(m.group()), masked)
    return keep, masked


def parse(text: str) -> Ask:
    """Understand one message (without conversation context; see :func:`assistant.ask.merge`)."""
    text = normalise(text)
    low = text.lower()
    lang = "zh" if _CJK.search(text) else "en"
    fields: dict[str, Any] = {"lang": lang, "query": text}
    model, model_spans = _models(text, low, lang)
    fields.update(model)
    gpu, gpu_span = _gpus(text, low, model_spans)
    fields.update(gpu)
    if "gpu" not in gpu:
        fields["gpu_memory_gb"] = _memory(low, model_spans)
        if fields["gpu_memory_gb"] is not None and fields.get("unresolved_gpu"):
            fields["unresolved_gpu"] = fields["unresolved_gpu"] if not lx.MEMORY_CONTEXT_AFTER.search(
                low) else fields["unresolved_gpu"]
    fields["gpu_local"] = bool(lx.LOCAL.search(low)) and "gpu" not in gpu
    fields["num_gpus"] = _gpu_count(low, gpu_span)
    negated, masked = _negations(low)
    off = negation.off_values(negated)
    settings = {k: v for k, v in _settings(low, masked, off).items() if v is not None}
    fields.update(settings)
    if fields["num_gpus"] is None and (settings.get("tensor_parallel") or 1) > 1:
        fields["num_gpus"] = settings["tensor_parallel"]  # "vllm tp=2" runs on two GPUs
    fields["ruled_out"] = off.get("workload_off", [])
    fields["negated"] = negation.evidence(low, negated)
    fields["workloads"] = _workloads(masked, settings.get("quant"), settings.get("weight_dtype"),
                                     fields["ruled_out"])
    fields["quants"] = _quants(lx.KV_FP8.sub(" ", masked))
    fields["seq_values"] = _ints(lx.SEQ, low, scale=True)
    fields["rank_values"] = [r for r in _ints([lx.RANK, lx.RANK_TO], masked) if r <= 1024]
    fields["zero_values"] = [int(m.group(1)) for m in lx.ZERO_ALL.finditer(masked)]
    fields["gpu_pick"] = _pick(low)
    fields["followup"] = bool(lx.FOLLOWUP.search(low))
    fields["correction"] = bool(lx.CORRECTION.search(low))
    ask = Ask(**fields)
    ask = ask.model_copy(update={"kind": kinds.classify(ask, low)})
    intent, target = _intent(ask, low)
    return ask.model_copy(update={"intent": intent, "target": target})


if __name__ == "__main__":  # pragma: no cover - developer aid
    print(parse(" ".join(sys.argv[1:])).model_dump_json(indent=2, exclude_defaults=True))
