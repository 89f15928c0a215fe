"""Chunking, tokenisation, content-hash ids, and the structure of the shipped guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.chunking import Chunk, chunk_markdown, split_long
from knowledge.glossary import concept_tokens
from knowledge.shipped import GUIDE_DIR, guide_chunks, guide_files
from knowledge.textnorm import detect_lang, normalize, tokenize

DOC = """# Title of the page

Intro paragraph.

## First section

Body one.

```python
# not a heading
x = 1
```

### A subsection

Sub body.

## Second section

Body two.
"""


def test_chunks_follow_headings_with_paths_and_ordinals() -> None:
    chunks = chunk_markdown(DOC, "docs/page.md", lang="en")
    assert [c.section_path for c in chunks] == [
        ("Title of the page",),
        ("Title of the page", "First section"),
        ("Title of the page", "First section", "A subsection"),
        ("Title of the page", "Second section"),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 1, 2]
    assert chunks[1].section == "First section"
    assert "# not a heading" in chunks[1].text  # headings inside code fences are ignored
    assert all(c.title == "Title of the page" and c.lang == "en" for c in chunks)
    meta = chunks[3].metadata()
    assert meta["source"] == "docs/page.md" and meta["section_key"] == "guide/page#2"
    assert Chunk.from_metadata(chunks[3].text, dict(meta)) == chunks[3]


def test_ids_are_stable_content_hashes() -> None:
    first = chunk_markdown(DOC, "docs/page.md")
    again = chunk_markdown(DOC, "docs/page.md")
    assert [c.id for c in first] == [c.id for c in again]
    edited = chunk_markdown(DOC.replace("Body two.", "Body two, edited."), "docs/page.md")
    assert [c.id for c in first][:3] == [c.id for c in edited][:3]
    assert first[3].id != edited[3].id
    moved = chunk_markdown(DOC, "docs/other.md")
    assert not {c.id for c in first} & {c.id for c in moved}


def test_long_sections_split_at_paragraphs() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(20))
    parts = split_long(text, 800)
    assert len(parts) > 1 and all(len(p) <= 800 for p in parts)
    assert "".join(parts).replace("\n", "").count("Paragraph") == 20
    chunks = chunk_markdown(f"# T\n\n## S\n\n{text}", "x.md", max_chars=800)
    assert [c.part for c in chunks] == list(range(len(parts)))


def test_tokenize_english_chinese_and_sizes() -> None:
    toks = tokenize("Gradient checkpointing saves activations; gpu_memory_utilization=0.9")
    assert "gradient" in toks and tokenize("activation")[0] in toks  # stems match
    assert "gpu_memory_utilization" in toks and tokenize("utilization")[0] in toks
    assert "~checkpointing" in toks
    zh = tokenize("梯度检查点能省显存")
    assert "显存" in zh and "检查" in zh and "~checkpointing" in zh
    assert "24gb" in tokenize("24G 显卡") and "24gb" in tokenize("a 24 GB card")
    assert normalize("ＦＰ１６") == "fp16"


def test_concepts_match_whole_words_or_declared_prefixes() -> None:
    assert "~oom" not in concept_tokens("leaves room for the cache")
    assert "~oom" in concept_tokens("the job hit an oom")
    assert "~quantization" in concept_tokens("quantization to 4 bits")
    assert "~training" in concept_tokens("fine-tuning a model")


def test_detect_lang() -> None:
    assert detect_lang("这是中文 with some English") == "zh"
    assert detect_lang("plain English text") == "en"


# ---------------------------------------------------------------- the shipped guide

PAGES = sorted(p.name for p in (GUIDE_DIR / "en").glob("*.md"))


def _h2(text: str) -> list[str]:
    return re.findall(r"^## .+$", text, flags=re.M)


def test_every_topic_exists_in_both_languages() -> None:
    assert len(PAGES) >= 15
    assert PAGES == sorted(p.name for p in (GUIDE_DIR / "zh").glob("*.md"))


@pytest.mark.parametrize("name", PAGES)
def test_pages_are_parallel_and_cited(name: str) -> None:
    en = (GUIDE_DIR / "en" / name).read_text("utf-8")
    zh = (GUIDE_DIR / "zh" / name).read_text("utf-8")
    for text in (en, zh):
        assert text.startswith("# "), "each page opens with a # title"
        assert len(_h2(text)) >= 3, "each page has headed sections"
    assert len(_h2(en)) == len(_h2(zh)), "en and zh pages need the same ## sections"
    links_en = set(re.findall(r"\]\((https?://[^)]+)\)", en))
    links_zh = set(re.findall(r"\]\((https?://[^)]+)\)", zh))
    assert links_en, "facts are cited inline"
    assert links_en == links_zh, "both languages cite the same sources"
    assert sum(map(len, re.findall(r"[\u4e00-\u9fff]+", zh))) > 200, "zh page is in Chinese"


def test_guide_chunks_carry_language_and_shared_section_keys() -> None:
    chunks = guide_chunks()
    assert {c.lang for c in chunks} == {"en", "zh"}
    assert all(c.source.startswith("knowledge/guide/") for c in chunks)
    keys = {lang: {c.section_key for c in chunks if c.lang == lang} for lang in ("en", "zh")}
    assert keys["en"] == keys["zh"]
    assert len(guide_files()) == 2 * len(PAGES)


def test_guide_corrects_the_seed_errors() -> None:
    """The myths the seed articles spread are stated and corrected with numbers."""
    myths = (GUIDE_DIR / "en" / "myths.md").read_text("utf-8")
    assert "17.5 GB is 70 B × 2 bits" in myths
    assert "FP16 uses 2 bytes per weight and INT8 one: 2x" in myths
    assert "≈ 37 GiB" in myths
    text = " ".join(p.read_text("utf-8") for p in Path(GUIDE_DIR / "en").glob("*.md"))
    assert "16 bytes per parameter" in text and "128 KiB per token" in text
