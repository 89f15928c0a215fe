"""Embedding backends: the offline default, and an OpenAI-compatible endpoint (faked locally)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import knowledge
import knowledge.shipped as shipped
from knowledge.config import KbSettings, load_settings
from knowledge.embeddings import EmbeddingError, HashEmbedder, OpenAIEmbedder, make_embedder
from knowledge.testing import FakeEmbeddingsServer, free_port


def test_hash_embedder_is_deterministic_normalised_and_bilingual() -> None:
    emb = HashEmbedder(512)
    a, b = emb.embed(["KV cache per token", "KV cache per token"])
    assert a == b and len(a) == 512
    assert math.isclose(math.sqrt(sum(x * x for x in a)), 1.0, rel_tol=1e-6)

    def cos(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    q, near, far = emb.embed(["梯度检查点省显存", "梯度检查点可以节省激活显存", "vLLM 的分页注意力"])
    assert cos(q, near) > cos(q, far)
    q, near, far = emb.embed(["optimizer states", "AdamW optimizer state bytes", "pipeline bubble"])
    assert cos(q, near) > cos(q, far)


def test_settings_pick_the_backend() -> None:
    assert load_settings({"HEADROOM_HOME": "/x"}).backend == "hash"
    s = load_settings({"HEADROOM_HOME": "/x", "HEADROOM_EMBEDDINGS_URL": "http://h/v1",
                       "HEADROOM_EMBEDDINGS_MODEL": "bge-m3"})
    assert s.backend == "openai"
    emb = make_embedder(s)
    assert isinstance(emb, OpenAIEmbedder) and emb.slug == "openai-bge-m3"
    with pytest.raises(EmbeddingError, match="HEADROOM_EMBEDDINGS_URL"):
        make_embedder(load_settings({"HEADROOM_HOME": "/x"}), "openai")
    with pytest.raises(EmbeddingError, match="unknown embedding backend"):
        make_embedder(s, "word2vec")


def test_openai_embedder_against_fake_server() -> None:
    with FakeEmbeddingsServer(dim=64) as server:
        emb = OpenAIEmbedder(server.url, "fake-model", api_key="sk-test", batch_size=2)
        vectors = emb.embed(["a", "b", "c"])
        emb.close()
    assert len(vectors) == 3 and all(len(v) == 64 for v in vectors)
    assert [r["n"] for r in server.requests] == [2, 1]  # batched
    assert server.requests[0]["model"] == "fake-model"
    assert server.requests[0]["auth"] == "Bearer sk-test"
    assert vectors[0] == HashEmbedder(64).embed(["a"])[0]


def test_unreachable_endpoint_is_one_clear_error() -> None:
    emb = OpenAIEmbedder(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=2)
    with pytest.raises(EmbeddingError, match="embeddings endpoint .* failed"):
        emb.embed(["x"])
    emb.close()


@pytest.fixture()
def endpoint_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                      ) -> Iterator[tuple[KbSettings, FakeEmbeddingsServer]]:
    guide = tmp_path / "guide"
    for lang in ("en", "zh"):
        (guide / lang).mkdir(parents=True)
        (guide / lang / "t.md").write_text(
            "# Topic\n\n## Weights\n\nWeights take bytes.\n\n## Cache\n\nThe KV cache grows.\n",
            "utf-8")
    monkeypatch.setattr(shipped, "GUIDE_DIR", guide)
    with FakeEmbeddingsServer(dim=128) as server:
        env = {"HEADROOM_HOME": str(tmp_path / "home"), "HEADROOM_EMBEDDINGS_URL": server.url,
               "HEADROOM_EMBEDDINGS_MODEL": "fake-model", "HEADROOM_EMBEDDINGS_API_KEY": "k"}
        yield load_settings(env), server
        knowledge.close()


def test_index_and_search_through_the_endpoint(
        endpoint_settings: tuple[KbSettings, FakeEmbeddingsServer]) -> None:
    settings, server = endpoint_settings
    result = knowledge.build(settings)
    assert result.collection.startswith("headroom-kb-openai-fake-model-")
    assert sum(r["n"] for r in server.requests) == result.total
    hits = knowledge.search("KV cache", k=1, mode="dense", settings=settings)
    assert hits[0].section == "Cache"
    assert knowledge.search("weights bytes", k=1, settings=settings)[0].section == "Weights"
    # the offline backend keeps its own collection next to it
    assert knowledge.build(settings, backend="hash").collection.startswith("headroom-kb-hash-")
