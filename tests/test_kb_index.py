"""Building the embedded Chroma index: incremental rebuilds, interruption, snapshot fallback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import knowledge
import knowledge.index as index_mod
import knowledge.kb as kb
import knowledge.shipped as shipped
from knowledge.config import KbSettings
from knowledge.embeddings import HashEmbedder
from knowledge.testing import CountingEmbedder

PAGE_A = """# Alpha topic

Intro about alpha.

## Weights

Alpha weights take two bytes per parameter in bf16.

## Activations

Alpha activations grow with sequence length.
"""
PAGE_B = """# Beta topic

## KV cache

Beta KV cache grows with tokens in flight.

## Offload

Beta offload moves optimizer states to CPU memory.
"""


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KbSettings]:
    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HEADROOM_CHROMA_URL", raising=False)
    monkeypatch.delenv("HEADROOM_EMBEDDINGS_URL", raising=False)
    yield knowledge.load_settings()
    knowledge.close()


@pytest.fixture()
def small_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-page guide in both languages instead of the shipped one (fast, editable)."""
    guide = tmp_path / "guide"
    for lang in ("en", "zh"):
        (guide / lang).mkdir(parents=True)
        (guide / lang / "alpha.md").write_text(PAGE_A, "utf-8")
        (guide / lang / "beta.md").write_text(PAGE_B, "utf-8")
    monkeypatch.setattr(shipped, "GUIDE_DIR", guide)
    return guide


@pytest.fixture()
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingEmbedder:
    embedder = CountingEmbedder(HashEmbedder())
    monkeypatch.setattr(kb, "make_embedder", lambda settings, backend=None: embedder)
    return embedder


def test_first_build_then_noop(settings: KbSettings, small_guide: Path,
                               counting: CountingEmbedder) -> None:
    first = knowledge.build(settings)
    assert first.changed and first.embedded == first.total == len(kb.guide_chunks())
    again = knowledge.build(settings)
    assert not again.changed and again.collection == first.collection
    assert counting.embedded == first.total  # nothing re-embedded


def test_rebuild_embeds_only_changed_chunks(settings: KbSettings, small_guide: Path,
                                            counting: CountingEmbedder) -> None:
    first = knowledge.build(settings)
    ids_before = {c.id for c in kb.guide_chunks()}
    page = small_guide / "en" / "alpha.md"
    page.write_text(PAGE_A.replace("sequence length", "sequence length and batch"), "utf-8")
    counting.embedded = 0
    second = knowledge.build(settings)
    ids_after = {c.id for c in kb.guide_chunks()}
    assert second.changed and second.collection != first.collection
    assert second.embedded == counting.embedded == 1
    assert second.reused == len(ids_before & ids_after) == first.total - 1
    assert second.removed == 1
    top = knowledge.search("alpha activations batch", k=1, settings=settings, lang="en")
    assert "batch" in top[0].text


def test_interrupted_build_leaves_previous_index_usable(
        settings: KbSettings, small_guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = knowledge.build(settings)
    before = knowledge.search("beta offload", k=1, settings=settings)
    gamma = [small_guide / lang / "gamma.md" for lang in ("en", "zh")]
    for page in gamma:
        page.write_text("# Gamma\n\n" + "\n\n".join(f"## S{i}\n\nGamma text {i}."
                                                    for i in range(6)), "utf-8")
    failing = CountingEmbedder(HashEmbedder(), fail_after_batches=1)
    monkeypatch.setattr(kb, "make_embedder", lambda settings, backend=None: failing)
    monkeypatch.setattr(index_mod, "BATCH", 2)
    with pytest.raises(KeyboardInterrupt):
        knowledge.build(settings)
    assert failing.batches == 1  # it really stopped half-way
    with index_mod.open_client(settings) as client:
        names = [c.name for c in client.list_collections() if c.name.startswith("headroom-kb-")]
        assert index_mod.active_name(client, HashEmbedder().slug) == first.collection
        assert sorted(names) == sorted([first.collection, index_mod.POINTER])
        assert index_mod.get_collection(client, first.collection).count() == first.total
    # a new process, with the guide as before: the old index answers, nothing is rebuilt
    for page in gamma:
        page.unlink()
    knowledge.close()
    counting = CountingEmbedder(HashEmbedder())
    monkeypatch.setattr(kb, "make_embedder", lambda settings, backend=None: counting)
    after = knowledge.search("beta offload", k=1, settings=settings)
    assert after[0].id == before[0].id and counting.embedded == 0


def test_failed_update_on_search_falls_back_to_previous_index(
        settings: KbSettings, small_guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge.build(settings)
    (small_guide / "en" / "beta.md").write_text(PAGE_B + "\n## New\n\nNew text.\n", "utf-8")
    broken = CountingEmbedder(HashEmbedder(), fail_after_batches=0,
                              error=knowledge.KnowledgeError("endpoint down"))
    monkeypatch.setattr(kb, "make_embedder", lambda settings, backend=None: broken)
    knowledge.close()
    hits = knowledge.search("beta offload", k=1, settings=settings)
    assert hits and hits[0].title == "Beta topic"


def test_killed_build_orphan_is_ignored_then_removed(
        settings: KbSettings, small_guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge.build(settings)
    with index_mod.open_client(settings) as client:  # what a SIGKILL mid-build leaves behind
        client.create_collection("headroom-kb-hash-v2-2048-deadbeef", embedding_function=None,
                                 metadata={"headroom:state": "building", "headroom:started": 0.0})
    assert knowledge.search("alpha weights", k=1, settings=settings)[0].title == "Alpha topic"
    (small_guide / "en" / "beta.md").write_text(PAGE_B + "\n## New\n\nNew text.\n", "utf-8")
    knowledge.build(settings)
    with index_mod.open_client(settings) as client:
        names = {c.name for c in client.list_collections()}
    assert "headroom-kb-hash-v2-2048-deadbeef" not in names


def test_missing_snapshot_falls_back_to_chroma(settings: KbSettings, small_guide: Path) -> None:
    knowledge.build(settings)
    shutil.rmtree(settings.kb_dir / "snapshots")
    knowledge.close()
    hits = knowledge.search("beta kv cache tokens", k=2, settings=settings)
    assert hits and hits[0].title == "Beta topic"
    knowledge.build(settings)  # an unchanged build restores the snapshot
    assert any((settings.kb_dir / "snapshots").iterdir())


def test_search_builds_on_first_use_and_returns_citable_passages(
        settings: KbSettings, small_guide: Path) -> None:
    hits = knowledge.search("How many bytes per parameter do alpha weights take?", k=3,
                            settings=settings)
    assert hits, "the index is built automatically"
    top = hits[0]
    assert (top.title, top.section) == ("Alpha topic", "Weights")
    assert top.source == "knowledge/guide/en/alpha.md" and top.lang == "en"
    assert top.citation() == "[Alpha topic § Weights](knowledge/guide/en/alpha.md)"
    assert 0 < len(top.excerpt) <= 280 and "two bytes" in top.excerpt
    assert len({h.section_key for h in hits}) == len(hits)  # en/zh twins collapse


def test_language_kind_and_mode_filters(settings: KbSettings, small_guide: Path) -> None:
    zh = knowledge.search("alpha weights", k=4, lang="zh", settings=settings)
    assert zh and all(p.lang == "zh" for p in zh)
    assert not knowledge.search("alpha weights", kind="team", settings=settings)
    for mode in ("dense", "lexical", "hybrid"):
        assert knowledge.search("beta offload", k=1, mode=mode, settings=settings)
    with pytest.raises(knowledge.KnowledgeError):
        knowledge.search("x", mode="sparse", settings=settings)
    assert knowledge.search("   ", settings=settings) == []


def test_changed_guide_is_picked_up_by_search(settings: KbSettings, small_guide: Path) -> None:
    knowledge.build(settings)
    (small_guide / "en" / "beta.md").write_text(PAGE_B + "\n## Zeta\n\nZeta facts.\n", "utf-8")
    hits = knowledge.search("zeta facts", k=1, settings=settings, mode="lexical")
    assert hits and hits[0].section == "Zeta"
