"""What a sentence of model prose claims: memory figures (in any unit spelling) and fit verdicts.

The grounding check (:mod:`assistant.grounding`) and the checked stream
(:mod:`assistant.checked`) use these readers on every sentence the model writes, so a figure
written "9 gb", "9 gigabytes", "9-gig", "9 GBs", "9个G", "9 千兆" or "9 吉字节", and a verdict
written anywhere in a sentence ("Good news: it fits comfortably", "放得下", "won't fit"), are
seen the same way as "9 GiB" and a leading "Yes".

Units are read as GiB-sized (GB, G, gig and the Chinese spellings are taken as GiB *or* decimal
GB by the matcher, which accepts either reading); MB/MiB are 1/1024 of that, TB/TiB 1024 times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100,
}
_GIB_UNITS = (r"gibibytes?|gigabytes?|gigs?|gib|gbs?|gb|g|"
              r"千兆字节|千兆|吉字节|吉比特|吉")
_MIB_UNITS = r"mebibytes?|megabytes?|mib|mbs?|兆字节"
_TIB_UNITS = r"tebibytes?|terabytes?|tib|tbs?|太字节"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_FIGURE = re.compile(
    rf"(?<![A-Za-z0-9_.])(?P<num>{_NUMBER}|{'|'.join(_WORD_NUMBERS)})"
    rf"(?:\s*[-‐–]\s*|\s*个\s*|\s*)"
    rf"(?P<unit>{_TIB_UNITS}|{_MIB_UNITS}|{_GIB_UNITS})"
    r"(?![A-Za-z])",
    re.IGNORECASE)


@dataclass(frozen=True)
class FigureClaim:
    """One memory figure as written: its value in GiB, half a unit of its last digit (the
    precision used, in GiB) and the text exactly as the model wrote it."""

    gib: float
    half_unit: float
    written: str


def _scale(unit: str) -> float:
    u = unit.lower()
    if re.fullmatch(_MIB_UNITS, u, re.IGNORECASE):
        return 1 / 1024
    if re.fullmatch(_TIB_UNITS, u, re.IGNORECASE):
        return 1024.0
    return 1.0


def figure_claims(text: str) -> list[FigureClaim]:
    """Every memory figure written in ``text``, in any of the unit spellings above."""
    out = []
    for m in _FIGURE.finditer(text):
        num, unit = m.group("num"), m.group("unit")
        if unit.lower() == "g" and num.lower() in _WORD_NUMBERS:
            continue  # "one g" is not a memory figure
        scale = _scale(unit)
        if num.lower() in _WORD_NUMBERS:
            value, digits = float(_WORD_NUMBERS[num.lower()]), 0
        else:
            value = float(num.replace(",", ""))
            digits = len(num.split(".", 1)[1]) if "." in num else 0
        out.append(FigureClaim(value * scale, 0.5 * 10 ** -digits * scale, m.group(0)))
    return out


# ---------------------------------------------------------------- verdicts in prose

_NEG_EN = re.compile(
    r"\b(?:do(?:es)?\s*n[o']t|did\s*n[o']t|won'?t|will\s+not|would\s*n[o']t|can\s*not|can'?t|"
    r"could\s*n[o']t|not|never|no\s+longer)\s+(?:\w+\s+){0,2}?(?:fit|fits|run|work|be\s+enough)\b"
    r"|\b(?:does|do|will|would|can|could)\s*(?:n[o']t|not)\b(?=\s*(?:[.,;:!)]|$))|\bcannot\b(?=\s*[.,;:!)]|$)"
    r"|\b(?:too\s+(?:big|large|much)|out\s+of\s+memory|oom|exceeds?|not\s+enough|insufficient|"
    r"no\s+room|over\s+budget|runs?\s+out)\b", re.IGNORECASE)
_POS_EN = re.compile(
    r"\b(?:fits?|fitting|will\s+run|can\s+run|runs\s+(?:fine|well|comfortably)|works|"
    r"enough\s+(?:memory|vram|room|headroom|space)|room\s+to\s+spare|good\s+news|"
    r"comfortably|no\s+problem)\b", re.IGNORECASE)
_NEG_ZH = re.compile(r"放不下|装不下|跑不动|跑不了|不够|不行|不能|不可以|无法|爆显存|超出|溢出|OOM")
_POS_ZH = re.compile(r"放得下|装得下|跑得动|足够|够用|可以|能够|没问题|(?<![性功可智效动本])能(?!否|力|耗|效|源)")
_LEAD_YES = re.compile(r"^\W*(?:yes|yep|yeah|sure|absolutely|definitely)\b", re.IGNORECASE)
_LEAD_NO = re.compile(r"^\W*(?:no|nope|unfortunately)\b(?!\s+(?:problem|worries))",
                      re.IGNORECASE)

WORKLOAD_WORDS: dict[str, re.Pattern[str]] = {
    "qlora": re.compile(r"\bq-?lora\b", re.IGNORECASE),
    "lora": re.compile(r"(?<![q\w-])lora\b", re.IGNORECASE),
    "full": re.compile(r"\bfull(?:[- ]parameter)?\s+fine[- ]?tun|\bfull\s+(?:ft|training)\b|全参|全量",
                       re.IGNORECASE),
    "inference": re.compile(r"\binferenc|\bgenerat|推理", re.IGNORECASE),
    "serve": re.compile(r"\bserv(?:e|ing)\b|\bvllm\b|部署", re.IGNORECASE),
}


def stated_fit(sentence: str) -> str | None:
    """'yes', 'no', 'mixed' or None: the fit claim a sentence makes, wherever it is written."""
    neg = bool(_NEG_EN.search(sentence) or _NEG_ZH.search(sentence) or _LEAD_NO.search(sentence))
    # a positive word inside a negation ("does not fit") is not a positive claim
    stripped = _NEG_EN.sub(" ", sentence)
    stripped = _NEG_ZH.sub(" ", stripped)
    pos = bool(_POS_EN.search(stripped) or _POS_ZH.search(stripped) or _LEAD_YES.search(sentence))
    if neg and pos:
        return "mixed"
    return "no" if neg else "yes" if pos else None


def workloads_named(sentence: str) -> list[str]:
    """The workloads a sentence names (LoRA, QLoRA, full fine-tuning, inference, serving)."""
    return [w for w, pattern in WORKLOAD_WORDS.items() if pattern.search(sentence)]
