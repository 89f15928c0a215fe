"""Against a real ``chroma run`` server on loopback: a team sharing one index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import knowledge
import knowledge.shipped as shipped
from knowledge.config import load_settings
from knowledge.testing import chroma_server, write_guide

# No skip: CI must exercise a real server. `chroma` is installed with chromadb (the kb extra).


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma") / "data") as url:
        yield url


@pytest.fixture()
def small_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    guide = write_guide(tmp_path, "zero.md", "# ZeRO\n\n## Stages\n\nZeRO-2 shards optimizer states and gradients.\n\n"
            "## Offload\n\nOffload moves optimizer states to CPU memory.\n")
    monkeypatch.setattr(shipped, "GUIDE_DIR", guide)
    yield
    knowledge.close()


def test_team_shares_one_index_through_the_server(server_url: str, tmp_path: Path,
                                                  small_guide: None) -> None:
    alice = load_settings({"HEADROOM_HOME": str(tmp_path / "alice"),
                           "HEADROOM_CHROMA_URL": server_url})
    bob = load_settings({"HEADROOM_HOME": str(tmp_path / "bob"),
                         "HEADROOM_CHROMA_URL": server_url})
    built = knowledge.build(alice)
    assert built.total == 4  # two sections in two languages
    assert not (tmp_path / "alice" / "kb" / "chroma").exists()  # nothing embedded locally

    hit = knowledge.search("what does ZeRO-2 shard", k=1, settings=bob)[0]
    assert hit.section == "Stages" and "gradients" in hit.excerpt

    note = tmp_path / "team.md"
    note.write_text("# Team notes\n\n## Budget\n\nThe ocelot cluster has 16 GPUs.\n", "utf-8")
    assert knowledge.add([note], alice).added
    shared = knowledge.search("ocelot cluster GPUs", k=1, settings=bob)[0]
    assert shared.source == str(note.resolve())
    assert knowledge.build(bob).changed is False  # same guide, same documents: nothing to do


def test_unreachable_server_is_a_clear_error(tmp_path: Path, small_guide: None) -> None:
    from knowledge.testing import free_port

    settings = load_settings({"HEADROOM_HOME": str(tmp_path),
                              "HEADROOM_CHROMA_URL": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(knowledge.KnowledgeError, match="cannot open Chroma"):
        knowledge.search("anything", settings=settings)
