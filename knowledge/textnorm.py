"""Text normalisation and tokenisation shared by the lexical index and the offline embedding.

English and other Latin text: NFKC, lower case, words of letters/digits/underscores (a compound
such as ``gpu_memory_utilization`` or ``zero-3`` is kept whole *and* split), a few stop words
dropped, and a light suffix stemmer. Chinese (and other CJK) text has no spaces, so each run of
CJK characters gives its overlapping character bigrams (a lone character stays a unigram unless
it is a function word): the standard dictionary-free approach of Lucene's CJK analyzer, with no
jieba dictionary to load. Concept tokens from :mod:`knowledge.glossary` bridge the languages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .glossary import concept_tokens

_CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:[_.\-][a-z0-9]+)*")
_CJK_RE = re.compile(rf"[{_CJK}]")
_SPLIT_RE = re.compile(r"[_.\-]")

EN_STOP = frozenset(
    """a an the and or of to in on at for with by from as is are was were be been being it its
    this that these those i you he she we they my your our their me us them do does did can could
    will would should shall may might must have has had not no yes so if then than there here what
    which who whom how why when where into over under about also just only very more most much
    many any some such each all both other per via vs etc use used using get got one""".split()
)
ZH_STOP_CHARS = frozenset("的了是吗呢吧啊在和与及或就都也还要会能可把被让给对从向于为以而且并么个这那哪些之其有我你他她它们")


_SIZE_RE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*(?:gib|gb|g)(?![a-z])")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width, compatibility forms), lower case, and memory sizes
    written one way ("24G", "24 GB" and "24GiB" all become "24gb")."""
    return _SIZE_RE.sub(r"\1gb", unicodedata.normalize("NFKC", text).lower())


def is_cjk_text(text: str, threshold: float = 0.15) -> bool:
    """True when at least ``threshold`` of the non-space characters are CJK."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return False
    return sum(1 for c in chars if _CJK_RE.match(c)) / len(chars) >= threshold


def detect_lang(text: str) -> str:
    """``zh`` for text with a substantial share of CJK characters, else ``en``."""
    return "zh" if is_cjk_text(text) else "en"


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: plurals and the common verb/noun suffixes."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl, min_len in (
        ("ization", "ize", 4), ("isation", "ize", 4), ("ations", "ate", 4), ("ation", "ate", 4),
        ("ies", "y", 3), ("sses", "ss", 2), ("ing", "", 4), ("ed", "", 4), ("es", "", 4),
        ("s", "", 3),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_len:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "zes")):
                return word[:-1]
            return word[: len(word) - len(suffix)] + repl
    return word


def _latin_tokens(run: str) -> list[str]:
    parts = [p for p in _SPLIT_RE.split(run) if p]
    out: list[str] = []
    if len(parts) > 1:
        out.append(run)
    for p in parts:
        if p in EN_STOP or (len(p) == 1 and not p.isdigit()):
            continue
        out.append(stem(p))
    return out


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [] if run in ZH_STOP_CHARS else [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokenize(text: str, *, concepts: bool = True) -> list[str]:
    """Index/query tokens of ``text`` (normalised inside); see the module docstring."""
    norm = normalize(text)
    tokens: list[str] = []
    for m in _TOKEN_RE.finditer(norm):
        run = m.group(0)
        if _CJK_RE.match(run):
            tokens.extend(_cjk_tokens(run))
        else:
            tokens.extend(_latin_tokens(run))
    if concepts:
        tokens.extend(concept_tokens(norm))
    return tokens
