"""Faults around the answer pipeline: each still ends in a useful answer or a clear message, never
a traceback, and nothing already stored is lost.

- the LLM server dies in the middle of a streamed reply, or while a request is in flight (a
  server that hangs without dying, HTTP errors, rate limits and malformed replies are covered by
  ``test_assistant_llm.py::test_faults_fall_back_to_the_offline_answer``; an endpoint that was
  never there by ``test_unreachable_endpoint_falls_back``);
- the team Chroma server goes away mid-session (a real ``chroma run``, killed);
- the conversation store is locked by another connection, or the disk is full; the same for the
  feedback store;
- the local index files under ``$HEADROOM_HOME/kb`` are overwritten with garbage.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, hang, make_assistant
from sqlalchemy import event

import knowledge
import knowledge.shipped as shipped
from assistant import Assistant, Final, Notice
from assistant.config import Settings
from assistant.db import Database, DbOptions, sqlite_url
from assistant.feedback import FeedbackError, list_feedback, record_feedback
from assistant.memory import ConversationStore
from assistant.tools import ToolContext
from knowledge.config import load_settings
from knowledge.testing import chroma_executable, free_port, write_guide

QUESTION = "Can I LoRA fine-tune Llama-2-13B on one A10?"


def _final(events: list[Any]) -> Any:
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 1, events
    return finals[0].answer


def _assert_offline_lora_no(answer: Any) -> None:
    assert answer.verdict == "no" and answer.options[0].workload == "lora"
    assert "GiB" in answer.answer


# ---------------------------------------------------------------- the LLM server dies

class DyingSSEServer:
    """Accepts one chat request, starts an SSE stream (role + two words) and closes the socket."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.served = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(body) < length:
                        body += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Connection: close\r\n\r\n")
                    for piece in ('{"role": "assistant", "content": ""}', '{"content": "Yes, "}',
                                  '{"content": "it fits "}'):
                        chunk = ('{"id": "chatcmpl-x", "object": "chat.completion.chunk", '
                                 '"created": 0, "model": "fake-model", "choices": [{"index": 0, '
                                 f'"delta": {piece}, "finish_reason": null}}]}}')
                        conn.sendall(b"data: " + chunk.encode() + b"\n\n")
                    self.served += 1
                    conn.shutdown(socket.SHUT_RDWR)  # killed: no finish_reason, no [DONE]
                except OSError:
                    pass

    def __enter__(self) -> DyingSSEServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self._thread.join(5)


def test_llm_server_killed_mid_stream_falls_back_to_the_offline_answer(tmp_path: Path) -> None:
    with DyingSSEServer() as server:
        assistant = make_assistant(tmp_path, server.url, llm_timeout_s=2.0)
        start = time.monotonic()
        events = list(assistant.stream(QUESTION, "c"))
        assistant.store.close()
    answer = _final(events)
    assert server.served >= 1
    assert time.monotonic() - start < 20  # includes the first langchain import
    _assert_offline_lora_no(answer)
    assert answer.backend == "offline"
    notices = [e.text for e in events if isinstance(e, Notice)]
    # a stream cut before its finish_reason is a failed reply, not a complete one
    assert len(notices) == 1 and "did not answer" in notices[0], notices
    assert "stopped mid-stream" in notices[0]
    assert "Yes, it fits" not in answer.answer  # the half-streamed text is not the answer


def test_llm_server_stopped_while_a_request_hangs_falls_back(tmp_path: Path) -> None:
    fake = FakeOpenAI().start()
    try:
        fake.enqueue(hang(30))
        assistant = make_assistant(tmp_path, fake.url, llm_timeout_s=5.0)
        threading.Timer(0.3, fake.stop).start()  # the server goes away with the request open
        start = time.monotonic()
        answer = assistant.ask(QUESTION, "c")
        assistant.store.close()
    finally:
        fake.stop()
    assert time.monotonic() - start < 5  # not the 5 s timeout: the closed socket is noticed
    _assert_offline_lora_no(answer)
    assert answer.backend == "offline" and answer.notices


# ---------------------------------------------------------------- the Chroma server goes away

@pytest.fixture()
def small_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    guide = write_guide(tmp_path, "lora.md", "# LoRA\n\n## Memory\n\nLoRA trains small adapters; the base weights stay frozen.\n\n"
            "## QLoRA\n\nQLoRA keeps the base model in 4-bit NF4.\n")
    monkeypatch.setattr(shipped, "GUIDE_DIR", guide)
    yield
    knowledge.close()


@pytest.fixture()
def chroma(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``chroma run`` on loopback that the test may kill; always stopped."""
    exe = chroma_executable()
    assert exe is not None, "the chroma CLI comes with chromadb (the kb extra)"
    port = free_port()
    with open(tmp_path / "chroma.log", "wb") as log:
        proc = subprocess.Popen([exe, "run", "--path", str(tmp_path / "chroma-data"), "--host",
                                 "127.0.0.1", "--port", str(port)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"chroma run exited with {proc.returncode}"
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_chroma_server_going_away_mid_session(tmp_path: Path, small_guide: None,
                                              chroma: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = chroma
    kb = load_settings({"HEADROOM_HOME": str(tmp_path / "home"), "HEADROOM_CHROMA_URL": url})
    assistant = Assistant(Settings(home=tmp_path / "home"), backend="offline",
                          context=ToolContext(kb_settings=kb))
    try:
        first = assistant.ask(QUESTION, "c")
        assert any("lora.md" in s.path for s in first.sources)

        proc.kill()
        proc.wait(10)
        knowledge.close()  # a new process (or a dropped connection): nothing cached
        with pytest.raises(knowledge.KnowledgeError, match="cannot open Chroma"):
            knowledge.search("LoRA memory", settings=kb)

        second = assistant.ask("and with QLoRA?", "c")  # same session, the follow-up
    finally:
        assistant.store.close()
    assert second.verdict == "yes" and second.options[0].workload == "qlora"
    assert not second.sources  # no citations without the guide, but the answer comes
    assert "Traceback" not in second.answer


# ---------------------------------------------------------------- conversation store faults

def _store(path: Path, timeout_s: float = 0.2) -> ConversationStore:
    return ConversationStore(Database(sqlite_url(path), DbOptions(statement_timeout_s=timeout_s)))


def _turns(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return [(str(r[0]), str(r[1])) for r in conn.execute(
            "SELECT conversation_id, role FROM headroom_turns ORDER BY id")]
    finally:
        conn.close()


@contextmanager
def _full_disk(db: Database) -> Iterator[None]:
    """The SQLite file may not grow by one page (SQLITE_FULL, as on a full disk) while inside."""
    conn = sqlite3.connect(db.engine.url.database or "")
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    conn.close()

    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    db.dispose()
    event.listen(db.engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(db.engine, "connect", cap)
        db.dispose()


def test_locked_conversation_store_still_answers_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "conversations.sqlite3"
    assistant = Assistant(Settings(home=tmp_path), store=_store(db), backend="offline")
    try:
        assistant.ask(QUESTION, "c")
        before = _turns(db)
        assert len(before) == 2

        holder = sqlite3.connect(db, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            events = list(assistant.stream("and with QLoRA?", "c"))
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        answer = _final(events)
        assert answer.verdict == "yes" and answer.options[0].workload == "qlora"
        notices = [e.text for e in events if isinstance(e, Notice)]
        assert any("not saved" in n and "locked" in n for n in notices), notices
        assert all("\n" not in n for n in notices)

        assistant.ask("and on two of them?", "c")  # the lock is gone: saving works again
    finally:
        assistant.store.close()
    after = _turns(db)
    assert after[:2] == before and len(after) == 4


def test_full_disk_still_answers_and_keeps_earlier_turns(tmp_path: Path) -> None:
    db = tmp_path / "conversations.sqlite3"
    store = _store(db, timeout_s=5)
    assistant = Assistant(Settings(home=tmp_path), store=store, backend="offline")
    try:
        assistant.ask(QUESTION, "c")
        with _full_disk(store.db):
            events = list(assistant.stream("and with QLoRA? " + "please " * 3000, "c"))
        answer = _final(events)
        assert answer.verdict == "yes" and answer.options[0].workload == "qlora"
        assert any("full" in e.text for e in events if isinstance(e, Notice)), events
        assistant.ask("and with QLoRA?", "c")  # space again: saving resumes
    finally:
        assistant.store.close()
    assert len(_turns(db)) == 4  # the first exchange is intact, the failed turn left nothing


def test_locked_or_full_feedback_store_is_a_clear_error_and_loses_no_vote(
        tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    store = Database(sqlite_url(path), DbOptions(statement_timeout_s=0.2))
    record_feedback("c", 1, "up", text="first", db=store)

    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(FeedbackError, match="locked"):
            record_feedback("c", 3, "down", db=store)
        holder.execute("ROLLBACK")
    finally:
        holder.close()

    with _full_disk(store), pytest.raises(FeedbackError, match="full"):
        record_feedback("c", 3, "down", text="a long answer " * 1400, db=store)

    votes = list_feedback("c", db=store)
    assert [(v.message_index, v.rating, v.text) for v in votes] == [(1, "up", "first")]
    record_feedback("c", 3, "down", db=store)
    assert len(list_feedback("c", db=store)) == 2


# ---------------------------------------------------------------- a corrupted local index

def test_corrupted_index_files_are_rebuilt_or_reported_and_answers_come(
        tmp_path: Path, small_guide: None) -> None:
    home = tmp_path / "home"
    kb = load_settings({"HEADROOM_HOME": str(home)})
    knowledge.build(kb)
    assert knowledge.search("LoRA adapters", k=1, settings=kb)
    knowledge.close()

    damaged = [p for p in (home / "kb").rglob("*") if p.is_file()
               and p.suffix in (".npy", ".json", ".sqlite3", ".bin")]
    assert any(p.suffix == ".npy" for p in damaged) and any(p.suffix == ".sqlite3" for p in damaged)
    for p in damaged:
        p.write_bytes(b"\x00garbage\xff" * 64)

    try:
        hits = knowledge.search("LoRA adapters", k=1, settings=kb)
    except knowledge.KnowledgeError as e:  # reported clearly, with what to do
        assert "headroom kb build" in str(e) or "Chroma" in str(e), e
    else:  # or rebuilt from the guide
        assert hits and hits[0].title == "LoRA"
    knowledge.close()

    assistant = Assistant(Settings(home=home), backend="offline",
                          context=ToolContext(kb_settings=kb))
    try:
        answer = assistant.ask(QUESTION, "c")
    finally:
        assistant.store.close()
        knowledge.close()
    _assert_offline_lora_no(answer)
    assert "Traceback" not in answer.answer
