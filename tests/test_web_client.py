"""The web app over HTTP with ``gradio_client``: launched on a free loopback port in the test.

The app runs the real offline answerer, estimator, knowledge base and probe parser; only the
server machine's GPU probe is replaced by a recorded ``nvidia-smi`` paste (a fake, no mock).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if not os.environ.get("CI"):  # in CI the web extra is installed: a missing one must fail
    pytest.importorskip("gradio")
    pytest.importorskip("gradio_client")
import gradio as gr  # noqa: E402
import gradio_client  # noqa: E402
from web_server import running_app  # noqa: E402

from tools.estimator import estimate  # noqa: E402
from tools.estimator.report import verdict_line  # noqa: E402

# gradio's server thread and gradio_client's worker threads leave their event loops and
# socket pairs to the garbage collector; the module collects them before it ends (see `url`).
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
    # gradio's queue analytics set a pandas option that pandas 3 deprecates (server thread)
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting':Warning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in:pytest.PytestUnraisableExceptionWarning"),
]

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"






@pytest.fixture(scope="module")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-home")


@pytest.fixture(autouse=True)
def _same_home(_isolate: None, web_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One data directory for the module's server (the KB index is built once)."""
    monkeypatch.setenv("HEADROOM_HOME", str(web_home))


@pytest.fixture(scope="module")
def url(web_home: Path) -> Iterator[str]:
    with running_app(web_home) as u:
        yield u


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[Any]:
    """One browser-like session for the module (its conversation carries across tests)."""
    c = gradio_client.Client(url, verbose=False, download_files=False)
    try:
        yield c
    finally:
        c.close()


def test_chat_answers_with_tool_steps_and_cited_guide_links(client: Any) -> None:
    start = time.perf_counter()
    messages = client.predict("Can I fine-tune Llama-2-13B on one A10?", api_name="/chat")
    elapsed = time.perf_counter() - start
    steps = [m for m in messages if (m.get("metadata") or {}).get("title")]
    answer = messages[-1]["content"]
    assert steps and steps[0]["metadata"]["title"].startswith("🔧 check_fit(")
    assert all(s["metadata"]["status"] == "done" for s in steps)
    assert "**Inputs**" in steps[0]["content"] and "**Result**" in steps[0]["content"]
    assert "Yes, with QLoRA" in answer
    assert "(?tab=guide&doc=en%2Fqlora.md&section=" in answer
    assert elapsed < 1.0, f"first answer took {elapsed:.2f} s"


def test_chat_streams_partial_updates(client: Any) -> None:
    job = client.submit("How much memory does Llama 3 8B need to serve 32k context?",
                        api_name="/chat")
    updates = list(job)
    assert len(updates) >= 3  # tool started, tool finished, ..., final
    first_step = updates[0][0]["metadata"]
    assert first_step["status"] == "pending"
    assert "llama-3-8b" in updates[-1][-1]["content"].lower() or "Llama 3 8B" in updates[-1][-1]["content"]


def test_chat_keeps_the_conversation_per_session(client: Any) -> None:
    client.predict("Can I fine-tune Llama-2-13B on one A10?", api_name="/chat")
    follow = client.predict("and on two of them?", api_name="/chat")
    assert "2x NVIDIA A10" in follow[-1]["content"] or "2 张" in follow[-1]["content"] or \
        "two" in follow[-1]["content"].lower()


def test_chinese_question(client: Any) -> None:
    messages = client.predict("一张 RTX 4090 能用 QLoRA 微调 Qwen2.5 7B 吗？", api_name="/chat")
    assert "可以" in messages[-1]["content"] and "doc=zh%2F" in messages[-1]["content"]


def test_estimate_endpoint_matches_the_estimator(client: Any) -> None:
    error, summary, plot, note, fit, share = client.predict(
        model="llama-2-13b", workload="lora", gpu="a10", api_name="/estimate")
    est = estimate(model="llama-2-13b", workload="lora", gpu="a10")
    assert error == "" and verdict_line(est) in summary
    assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/png;base64,")
    assert [r[0] for r in fit["data"]] == ["full", "lora", "qlora", "inference", "serve"]
    assert share.startswith("?tab=estimator&model=llama-2-13b&workload=lora&gpu=a10")


def test_estimate_errors_are_readable(client: Any) -> None:
    error, summary, plot, *_ = client.predict(model="llama-9000", api_name="/estimate")
    assert "unknown model 'llama-9000'" in error and "Traceback" not in error
    assert summary == "" and plot is None
    error, *_ = client.predict(model="llama-2-13b", num_gpus=0, api_name="/estimate")
    assert "num_gpus" in error and "Traceback" not in error


def test_plan_endpoint_gives_recipes(client: Any) -> None:
    table, notes, pick, recipe = client.predict(
        goal="auto", objective="cheapest", model="llama-3-70b", workload="qlora", gpu="a10",
        api_name="/plan")
    assert table["data"] and "ranked by cheapest" in notes
    assert pick["value"].startswith("1. ") and len(pick["choices"]) == len(table["data"])
    assert "# ---- run ----" in recipe


def test_gpus_endpoints(client: Any) -> None:
    server = client.predict(api_name="/probe_server")
    assert "### This server" in server and "A10G" in server
    pasted = client.predict((FIXTURES / "h100_table_wilicc-gpu-burn-114.txt").read_text(),
                            api_name="/parse_paste")
    assert "NVIDIA H100 80GB HBM3" in pasted and "79.65" in pasted  # 81559 MiB from the paste
    assert "cannot read the GPU output" in client.predict("not a table", api_name="/parse_paste")


def test_guide_endpoints(client: Any) -> None:
    page = client.predict("zh/kv-cache.md", api_name="/guide_page")
    assert page.startswith("# KV cache")
    results, hits = client.predict("what does ZeRO-2 shard?", api_name="/guide_search")
    assert "1. **" in results and "ZeRO" in results
    assert hits["visible"] is True and hits["choices"][0][1].startswith("en/")
    empty, _ = client.predict("", api_name="/guide_search")
    assert "Type a question" in empty


def test_feedback_is_stored_with_the_conversation() -> None:
    from assistant.feedback import list_feedback
    from ui.web.app import record_like

    data = gr.LikeData(None, {"index": 2, "value": "Yes, with QLoRA.", "liked": True})
    record_like("web-abc", data)
    record_like("", data)  # no conversation yet: nothing stored
    stored = list_feedback("web-abc")
    assert [(f.message_index, f.rating, f.text, f.source) for f in stored] == \
        [(2, "up", "Yes, with QLoRA.", "web")]
