"""Replicas on one PostgreSQL database (tests/pg_server.py): they agree.

- two Slack bots in HTTP mode (uvicorn on loopback, the real offline assistant, each with its
  own connection pool, one fake Slack Web API): a mention, its retry to the other replica, the
  same message as a ``message`` event, and deliveries raced to both at once are each answered
  exactly once; a thread follow-up without a mention is answered by whichever replica gets it,
  with the conversation's context; a feedback button pressed on the other replica is recorded;
- the web app in a long-running process (served by Gradio, driven by ``gradio_client``) while
  PostgreSQL restarts: the follow-up keeps its context and is saved.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if not os.environ.get("CI"):  # in CI these extras are installed: a missing one must fail
    pytest.importorskip("psycopg")
    pytest.importorskip("slack_bolt")
from fake_slack import (  # noqa: E402
    BOT_USER_ID,
    AsgiServer,
    FakeSlack,
    Reply,
    action_body,
    event_body,
    mention,
    message,
    post,
    signed_headers,
)
from pg_server import PgServer  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from assistant import Assistant  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.db import Database  # noqa: E402
from assistant.feedback import list_feedback  # noqa: E402
from assistant.memory import ConversationStore  # noqa: E402
from ui.slack import SlackSettings, build_asgi_app, build_slack_app  # noqa: E402
from ui.slack.state import SlackState  # noqa: E402

SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TOKEN = "xoxb-1111-2222-testbottoken"
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting':Warning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in:pytest.PytestUnraisableExceptionWarning"),
]


@dataclass
class Replica:
    url: str
    db: Database

    def event(self, event: dict[str, Any], event_id: str, **headers: str) -> Reply:
        body = event_body(event, event_id=event_id)
        return post(self.url + "/slack/events", body,
                    signed_headers(body, SECRET, extra=headers))

    def action(self, body: str) -> Reply:
        return post(self.url + "/slack/events", body, signed_headers(
            body, SECRET, content_type="application/x-www-form-urlencoded"))


@contextmanager
def replica(url: str, fake: FakeSlack, home: Path) -> Iterator[Replica]:
    """One Slack replica: its own pool to the shared database, its own process-local state."""
    db = Database(url)
    assistant = Assistant(Settings(home=home), store=ConversationStore(db), backend="offline")
    settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, home=home,
                             update_interval_s=0.0)
    app = build_slack_app(settings, pipeline=assistant.stream, state=SlackState(db),
                          client=WebClient(token=TOKEN, base_url=fake.api_url),
                          feedback=lambda *a, **kw: _record(db, *a, **kw))
    try:
        with AsgiServer(build_asgi_app(app)) as server:
            yield Replica(server.url, db)
    finally:
        db.dispose()


def _record(db: Database, *args: Any, **kwargs: Any) -> Any:
    from assistant.feedback import record_feedback

    return record_feedback(*args, db=db, **kwargs)


def finals(fake: FakeSlack) -> list[dict[str, Any]]:
    """Every final answer posted (the message that carries the feedback buttons)."""
    return [c.args for c in fake.calls if c.status == 200
            and c.method in ("chat.update", "chat.postMessage")
            and any(b["type"] == "actions" for b in c.args.get("blocks", []))]


def thinking(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c.args for c in fake.calls if c.method == "chat.postMessage"
            and "Thinking" in str(c.args.get("text", ""))]


def text_of(args: dict[str, Any]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in args.get("blocks", [])
                     if isinstance(b.get("text"), dict))


def settle(fake: FakeSlack, n: int, quiet_s: float = 1.0) -> list[dict[str, Any]]:
    """Wait for ``n`` answers, then a little longer so that a duplicate would show up."""
    fake.wait_until(lambda: len(finals(fake)) >= n, timeout=30, what=f"{n} answers")
    time.sleep(quiet_s)
    return finals(fake)


def test_two_slack_replicas_answer_each_event_once(postgres: PgServer, tmp_path: Path) -> None:
    url = postgres.create_database("slack")
    with FakeSlack() as fake, ExitStack() as stack:
        a = stack.enter_context(replica(url, fake, tmp_path / "a"))
        b = stack.enter_context(replica(url, fake, tmp_path / "b"))

        ts = "1700000100.000100"
        question = mention("can I fine-tune Llama-2-13B on one A10?", ts=ts)
        assert a.event(question, "Ev1").status == 200
        # Slack's retry of the same event, delivered to the other replica
        retry = b.event(question, "Ev1", **{"X-Slack-Retry-Num": "1",
                                            "X-Slack-Retry-Reason": "http_timeout"})
        # the same channel message, delivered again as a message event, to the other replica
        as_message = message(f"<@{BOT_USER_ID}> can I fine-tune Llama-2-13B on one A10?", ts=ts)
        b.event(as_message, "Ev2")
        assert retry.status == 200
        first = settle(fake, 1)
        assert len(first) == 1 and len(thinking(fake)) == 1
        assert "QLoRA" in text_of(first[0])

        # a follow-up in the thread, no mention, to the replica that did not answer
        follow = message("and with two of them?", ts="1700000100.000200", thread_ts=ts)
        b.event(follow, "Ev3")
        a.event(follow, "Ev3", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
        both = settle(fake, 2)
        assert len(both) == 2 and len(thinking(fake)) == 2
        assert "2x NVIDIA A10" in text_of(both[1])  # the context came through the database
        assert {c.args.get("thread_ts") for c in fake.of("chat.postMessage")} == {ts}

        # the feedback button of the answer, pressed on the other replica
        actions = next(blk for blk in both[1]["blocks"] if blk["type"] == "actions")
        up = next(e for e in actions["elements"] if e["action_id"].endswith("up"))
        body = action_body(up["action_id"], up["value"], fake.response_url("vote"),
                           ephemeral=False)
        assert a.action(body).status == 200
        fake.wait_until(lambda: bool(list_feedback(db=a.db)), timeout=10, what="vote")
        (vote,) = list_feedback(db=a.db)
        assert vote.rating == "up" and vote.message_index == 3 and vote.source == "slack"


def test_deliveries_raced_to_two_replicas_are_answered_once(postgres: PgServer,
                                                           tmp_path: Path) -> None:
    url = postgres.create_database("race")
    with FakeSlack() as fake, ExitStack() as stack:
        a = stack.enter_context(replica(url, fake, tmp_path / "a"))
        b = stack.enter_context(replica(url, fake, tmp_path / "b"))
        n = 8
        start = threading.Barrier(2 * n)

        def deliver(target: Replica, i: int, retry: bool) -> None:
            ev = mention(f"how much memory does llama-2-7b need on an A10? ({i})",
                         ts=f"17000002{i:02d}.000100", channel=f"C{i}")
            headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "x"} if retry else {}
            start.wait()
            target.event(ev, f"EvR{i}", **headers)

        threads = [threading.Thread(target=deliver, args=(t, i, t is b))
                   for i in range(n) for t in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        answers = settle(fake, n, quiet_s=1.5)
    assert len(answers) == n and len(thinking(fake)) == n
    assert sorted(c["channel"] for c in answers) == sorted(f"C{i}" for i in range(n))


def test_web_app_keeps_a_conversation_through_a_postgres_restart(
        postgres: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("CI"):
        pytest.importorskip("gradio_client")
    import gradio_client
    from web_server import running_app

    url = postgres.create_database("web")
    monkeypatch.setenv("HEADROOM_DB_URL", url)
    monkeypatch.setenv("HEADROOM_DB_CONNECT_TIMEOUT", "2")
    with running_app(tmp_path / "web") as app_url:
        client = gradio_client.Client(app_url, verbose=False, download_files=False)
        try:
            first = client.predict("Can I fine-tune Llama-2-13B on one A10?", api_name="/chat")
            assert "Yes, with QLoRA" in first[-1]["content"]
            postgres.restart()
            follow = client.predict("and on two of them?", api_name="/chat")[-1]["content"]
            assert "2x NVIDIA A10" in follow and "not saved" not in follow
            again = client.predict("and with 4k context?", api_name="/chat")[-1]["content"]
            assert "not saved" not in again
        finally:
            client.close()
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT role, count(*) FROM headroom_turns GROUP BY role").fetchall()
    assert dict(rows) == {"user": 3, "assistant": 3}  # the warm-up uses its own memory store
