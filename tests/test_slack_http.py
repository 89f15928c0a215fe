"""The Slack bot in HTTP mode: signed requests over real HTTP (uvicorn on loopback) to the ASGI app,
and the real ``slack_sdk`` client talking to a local fake Slack Web API (tests/fake_slack.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    AsgiServer,
    FakeSlack,
    Reply,
    ScriptedPipeline,
    action_body,
    command_body,
    event_body,
    mention,
    message,
    post,
    signed_headers,
)
from slack_sdk import WebClient

from assistant.events import Answer
from assistant.feedback import list_feedback
from ui.slack import SlackSettings, build_asgi_app, build_slack_app

SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TOKEN = "xoxb-1111-2222-testbottoken"


@dataclass
class Bot:
    url: str
    fake: FakeSlack
    pipeline: ScriptedPipeline

    def send(self, body: str, *, secret: str = SECRET, timestamp: int | None = None,
             content_type: str = "application/json", **headers: str) -> Reply:
        head = signed_headers(body, secret, timestamp=timestamp, content_type=content_type,
                              extra=headers)
        return post(self.url + "/slack/events", body, head)

    def event(self, event: dict[str, Any], **kw: Any) -> Reply:
        return self.send(event_body(event), **kw)

    def form(self, body: str) -> Reply:
        return self.send(body, content_type="application/x-www-form-urlencoded")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def pipeline() -> ScriptedPipeline:
    return ScriptedPipeline()


@pytest.fixture
def settings(tmp_path: Any) -> SlackSettings:
    return SlackSettings(bot_token=TOKEN, signing_secret=SECRET, home=tmp_path,
                         docs_url="https://docs.example.com/headroom/", update_interval_s=0.0)


@contextmanager
def running_bot(fake: FakeSlack, pipeline: ScriptedPipeline,
                settings: SlackSettings) -> Iterator[Bot]:
    app = build_slack_app(settings, pipeline=pipeline,
                          client=WebClient(token=TOKEN, base_url=fake.api_url))
    with AsgiServer(build_asgi_app(app)) as server:
        yield Bot(server.url, fake, pipeline)


@pytest.fixture
def bot(fake: FakeSlack, pipeline: ScriptedPipeline, settings: SlackSettings) -> Iterator[Bot]:
    with running_bot(fake, pipeline, settings) as b:
        yield b


def answered(fake: FakeSlack, n: int = 1) -> list[dict[str, Any]]:
    """The last part of each of the first ``n`` answers (the one with the feedback buttons)."""
    def finals() -> list[dict[str, Any]]:
        return [c.args for c in fake.calls if c.status == 200
                and c.method in ("chat.update", "chat.postMessage")
                and any(b["type"] == "actions" for b in c.args.get("blocks", []))]
    fake.wait_until(lambda: len(finals()) >= n, what=f"{n} answer(s)")
    return finals()


def texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [e.get("text", "") for e in b.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(out)


def turn_id(blocks: list[dict[str, Any]]) -> str:
    actions = next(b for b in blocks if b["type"] == "actions")
    return str(actions["elements"][-1]["value"])


# -- mentions, DMs, thread follow-ups ---------------------------------------------------------

def test_mention_is_answered_in_its_thread_with_thinking_message_updated(bot: Bot) -> None:
    reply = bot.event(mention("can I LoRA llama-2-13b on one A10?", ts="1700000100.000100"))
    assert reply.status == 200
    final = answered(bot.fake)[0]
    thinking = bot.fake.of("chat.postMessage")[0]
    assert thinking.args["thread_ts"] == "1700000100.000100"
    assert thinking.headers["authorization"] == f"Bearer {TOKEN}"
    assert "Thinking" in thinking.args["text"]
    updates = bot.fake.of("chat.update")
    assert all(u.args["ts"] == updates[0].args["ts"] for u in updates)
    assert any("`estimate_memory`" in texts(u.args["blocks"]) for u in updates[:-1])
    assert final["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "❌ No, it does not fit", "emoji": True}}
    assert bot.pipeline.calls == [("can I LoRA llama-2-13b on one A10?",
                                   "slack:T1:C1:1700000100.000100")]


def test_answer_numbers_are_the_estimators(bot: Bot) -> None:
    from tools.estimator import estimate

    bot.event(mention("can I LoRA llama-2-13b on one A10?"))
    body = texts(answered(bot.fake)[0]["blocks"])
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    for value in (est.total_gib, est.capacity_gib, est.suggestions[0].total_gib):
        assert f"{value:.2f} GiB" in body
    assert "💡 *Key suggestion:* switch to QLoRA" in body
    assert "<https://docs.example.com/headroom/knowledge/guide/en/lora.md#memory|LoRA § Memory>" \
        in body


def test_direct_message_is_answered(bot: Bot) -> None:
    bot.event(message("how much for 13B QLoRA on a T4?", ts="1700000200.000001",
                      channel="D1", channel_type="im"))
    answered(bot.fake)
    thinking = bot.fake.of("chat.postMessage")[0].args
    assert (thinking["channel"], thinking["thread_ts"]) == ("D1", "1700000200.000001")
    assert bot.pipeline.calls[0][1] == "slack:T1:D1:1700000200.000001"


def test_follow_up_in_a_thread_it_is_in_keeps_the_conversation(bot: Bot) -> None:
    bot.event(mention("13B LoRA on one A10?", ts="1700000300.000001"))
    answered(bot.fake)
    bot.event(message("and with two of them?", ts="1700000300.000009",
                      thread_ts="1700000300.000001"))
    answered(bot.fake, 2)
    assert [c[1] for c in bot.pipeline.calls] == ["slack:T1:C1:1700000300.000001"] * 2
    assert bot.pipeline.calls[1][0] == "and with two of them?"


def test_channel_talk_and_unknown_threads_are_ignored(bot: Bot) -> None:
    assert bot.event(message("lunch?", ts="1700000400.000001")).status == 200
    assert bot.event(message("in someone else's thread", ts="1700000400.000003",
                             thread_ts="1700000400.000002")).status == 200
    time.sleep(0.3)
    assert bot.pipeline.calls == []
    assert bot.fake.of("chat.postMessage") == []


def test_mention_delivered_as_app_mention_and_message_is_answered_once(bot: Bot) -> None:
    bot.event(mention("13B?", ts="1700000500.000001"))
    answered(bot.fake)
    text = f"<@{BOT_USER_ID}> and 70B?"
    ev = mention("and 70B?", ts="1700000500.000005", thread_ts="1700000500.000001")
    bot.event(message(text, ts="1700000500.000005", thread_ts="1700000500.000001"))
    bot.event(ev)
    answered(bot.fake, 2)
    time.sleep(0.3)
    assert len(bot.pipeline.calls) == 2


@pytest.mark.parametrize("extra", [
    {"bot_id": "B999", "user": None, "subtype": "bot_message"},      # another bot
    {"bot_id": BOT_ID, "user": BOT_USER_ID},                          # ourselves
    {"subtype": "message_changed"},                                   # edits, joins, ...
])
def test_bot_and_system_messages_are_ignored(bot: Bot, extra: dict[str, Any]) -> None:
    ev = message("hello", ts="1700000600.000001", channel="D1", channel_type="im")
    ev.update(extra)
    if extra.get("user", "") is None:
        ev.pop("user", None)
    assert bot.event(ev).status == 200
    time.sleep(0.3)
    assert bot.pipeline.calls == []


# -- Slack's rules: retries, signatures, rate limits, 3 seconds ---------------------------------

def test_retried_event_is_acknowledged_but_answered_once(bot: Bot) -> None:
    body = event_body(mention("13B?", ts="1700000700.000001"), event_id="EvRETRY1")
    first = bot.send(body)
    retry = bot.send(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert (first.status, retry.status) == (200, 200)
    assert retry.headers.get("x-slack-no-retry") == "1"
    answered(bot.fake)
    time.sleep(0.3)
    assert len(bot.pipeline.calls) == 1
    assert len(bot.fake.of("chat.postMessage")) == 1


def test_forged_signature_is_rejected(bot: Bot) -> None:
    reply = bot.event(mention("13B?"), secret="not-the-signing-secret")
    assert reply.status == 401
    time.sleep(0.2)
    assert bot.pipeline.calls == []
    assert [c.method for c in bot.fake.calls] == ["auth.test"]


@pytest.mark.parametrize("kind", ["forged", "stale", "unsigned"])
def test_rejected_request_is_logged_as_one_line_without_its_body(
        bot: Bot, caplog: pytest.LogCaptureFixture, kind: str) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "WRITTEN-INTO-THE-LOG-" + kind
    if kind == "forged":
        reply = bot.event(mention(marker), secret="not-the-signing-secret")
    elif kind == "stale":
        reply = bot.event(mention(marker), timestamp=int(time.time()) - 600)
    else:
        reply = post(bot.url + "/slack/events", event_body(mention(marker)),
                     {"Content-Type": "application/json"})
    assert reply.status == 401
    rejected = [r for r in caplog.records if "rejected a Slack request" in r.getMessage()]
    assert len(rejected) == 1
    line = rejected[0].getMessage()
    assert "\n" not in line and len(line) < 200
    assert rejected[0].levelno == logging.WARNING
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert marker not in logged and "signature:" not in logged


def test_stale_timestamp_is_rejected_even_when_correctly_signed(bot: Bot) -> None:
    reply = bot.event(mention("13B?"), timestamp=int(time.time()) - 600)
    assert reply.status == 401
    assert bot.pipeline.calls == []


def test_unsigned_request_is_rejected(bot: Bot) -> None:
    body = event_body(mention("13B?"))
    reply = post(bot.url + "/slack/events", body, {"Content-Type": "application/json"})
    assert reply.status == 401


def test_url_verification_echoes_the_challenge(bot: Bot) -> None:
    body = json.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"})
    reply = bot.send(body)
    assert reply.status == 200 and json.loads(reply.body) == {"challenge": "abc123"}


def test_rate_limited_post_waits_retry_after_and_retries(bot: Bot) -> None:
    bot.fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    bot.event(mention("13B?", ts="1700000800.000001"))
    answered(bot.fake)
    attempts = [c for c in bot.fake.calls if c.method == "chat.postMessage"]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0


def test_acks_stay_fast_while_more_slow_answers_run_than_worker_threads(bot: Bot) -> None:
    bot.pipeline.delay_s = 1.0
    acks = [bot.event(mention("13B?", ts=f"1700000900.{i:06d}")) for i in range(12)]
    acks.append(bot.form(command_body("13B?", bot.fake.response_url("slow"))))
    assert all(a.status == 200 for a in acks)
    assert max(a.seconds for a in acks) < 1.0  # Slack allows 3 s; Bolt's pool has 10 threads
    answered(bot.fake, 12)
    bot.fake.wait_for("response/slow")


def test_pipeline_failure_is_one_line_for_the_user(bot: Bot) -> None:
    bot.pipeline.error = RuntimeError("boom")
    bot.event(mention("13B?"))
    bot.fake.wait_until(lambda: "Sorry" in bot.fake.of("chat.update")[-1].args["text"]
                        if bot.fake.of("chat.update") else False)
    update = bot.fake.of("chat.update")[-1].args
    assert update["text"] == "Sorry, I could not answer that (RuntimeError). Please try rephrasing."
    assert "boom" not in json.dumps(update)


def test_long_answer_is_split_within_slack_limits(bot: Bot) -> None:
    long = "\n\n".join(f"Paragraph {i}: " + "memory " * 120 for i in range(120))
    bot.pipeline.answer = Answer(verdict="yes", answer=long)
    bot.event(mention("explain everything", ts="1700001000.000001"))
    answered(bot.fake)
    parts = [bot.fake.of("chat.update")[-1].args] + [
        c.args for c in bot.fake.of("chat.postMessage")[1:]]
    assert len(parts) > 1
    assert parts[0]["blocks"][0]["type"] == "header"
    for part in parts:
        assert len(part["blocks"]) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in part["blocks"] if "text" in b)
        assert sum(len(b.get("text", {}).get("text", "")) for b in part["blocks"]) <= 12_000
    assert all(c.args["thread_ts"] == "1700001000.000001" for c in bot.fake.of("chat.postMessage"))
    joined = "".join(texts(p["blocks"]) for p in parts)
    assert all(f"Paragraph {i}:" in joined for i in range(120))


# -- /headroom, share, feedback ---------------------------------------------------------------

def test_slash_command_answers_privately_with_a_share_button(bot: Bot) -> None:
    ack = bot.form(command_body("can I LoRA 13B on one A10?", bot.fake.response_url("cmd")))
    assert ack.status == 200
    assert json.loads(ack.body)["response_type"] == "ephemeral"
    assert "Working on it" in json.loads(ack.body)["text"]
    reply = bot.fake.wait_for("response/cmd")[0].args
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    buttons = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == [
        "headroom_share", "headroom_feedback_up", "headroom_feedback_down"]
    assert bot.pipeline.calls[0][1].startswith("slack:T1:C1:cmd-")


def test_empty_slash_command_shows_usage(bot: Bot) -> None:
    ack = bot.form(command_body("  ", bot.fake.response_url("empty")))
    assert "/headroom can I fine-tune" in json.loads(ack.body)["text"]
    time.sleep(0.2)
    assert bot.pipeline.calls == []


def test_share_button_posts_the_answer_in_channel_and_removes_the_private_one(bot: Bot) -> None:
    bot.form(command_body("can I LoRA 13B on one A10?", bot.fake.response_url("cmd")))
    private = bot.fake.wait_for("response/cmd")[0].args
    reply = bot.form(action_body("headroom_share", turn_id(private["blocks"]),
                                 bot.fake.response_url("click"), ephemeral=True))
    assert reply.status == 200
    shared, delete = bot.fake.wait_for("response/click", 2)
    assert shared.args["response_type"] == "in_channel"
    assert "<@U2> asked: can I LoRA 13B on one A10?" in texts(shared.args["blocks"])
    assert "headroom_share" not in json.dumps(shared.args["blocks"])
    assert delete.args == {"delete_original": True}


def test_feedback_buttons_record_to_the_web_apps_store(bot: Bot) -> None:
    bot.event(mention("13B LoRA on one A10?", ts="1700001100.000001"))
    final = answered(bot.fake)[0]
    reply = bot.form(action_body("headroom_feedback_down", turn_id(final["blocks"]),
                                 bot.fake.response_url("fb"), ephemeral=False,
                                 thread_ts="1700001100.000001"))
    assert reply.status == 200
    thanks = bot.fake.wait_for("chat.postEphemeral")[0].args
    assert (thanks["user"], thanks["thread_ts"]) == ("U2", "1700001100.000001")
    votes = list_feedback("slack:T1:C1:1700001100.000001")
    assert [(v.rating, v.source, v.message_index) for v in votes] == [("down", "slack", 1)]
    assert votes[0].text.startswith("**No.**")


def test_feedback_on_a_private_answer_thanks_through_the_response_url(bot: Bot) -> None:
    bot.form(command_body("13B?", bot.fake.response_url("cmd")))
    private = bot.fake.wait_for("response/cmd")[0].args
    bot.form(action_body("headroom_feedback_up", turn_id(private["blocks"]),
                         bot.fake.response_url("fb"), ephemeral=True))
    thanks = bot.fake.wait_for("response/fb")[0].args
    assert thanks["replace_original"] is False and "Thanks" in thanks["text"]
    assert [v.rating for v in list_feedback()] == ["up"]


# -- secrets --------------------------------------------------------------------------------

def test_tokens_and_signing_secret_never_reach_logs_or_messages(
        fake: FakeSlack, pipeline: ScriptedPipeline, settings: SlackSettings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running_bot(fake, pipeline, settings) as bot:  # auth.test at startup is logged too
        bot.event(mention("13B?", ts="1700001200.000001"))
        answered(bot.fake)
        bot.form(command_body("13B?", bot.fake.response_url("cmd")))
        bot.fake.wait_for("response/cmd")
        bot.event(mention("forged"), secret="wrong-secret-wrong-secret")
        bot.pipeline.error = RuntimeError("boom")
        bot.event(mention("fails", ts="1700001200.000009"))
        bot.fake.wait_until(lambda: any("Sorry" in c.args.get("text", "")
                                        for c in bot.fake.of("chat.update")))
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "Sending a request - url: http://127.0.0.1" in logged  # DEBUG was captured
    assert "auth.test" in logged and "no answer for conversation" in logged
    sent = json.dumps([c.args for c in fake.calls])  # every message and response_url post
    for secret in (TOKEN, SECRET):
        assert secret not in logged
        assert secret not in sent


def test_mountable_in_an_existing_asgi_app(fake: FakeSlack, pipeline: ScriptedPipeline,
                                           settings: SlackSettings) -> None:
    starlette = pytest.importorskip("starlette.applications")
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    app = build_slack_app(settings, pipeline=pipeline,
                          client=WebClient(token=TOKEN, base_url=fake.api_url))
    web = starlette.Starlette(routes=[
        Route("/health", lambda request: PlainTextResponse("ok")),
        Mount("/slack", app=build_asgi_app(app, path="/events"))])
    with AsgiServer(web) as server:
        body = event_body(mention("13B?", ts="1700001300.000001"))
        reply = post(server.url + "/slack/events", body, signed_headers(body, SECRET))
        assert reply.status == 200
        answered(fake)
        forged = post(server.url + "/slack/events", body, signed_headers(body, "nope-nope-nope"))
        assert forged.status == 401


def test_real_pipeline_answers_and_keeps_thread_context(fake: FakeSlack,
                                                        settings: SlackSettings) -> None:
    from assistant import Assistant

    app = build_slack_app(settings, client=WebClient(token=TOKEN, base_url=fake.api_url))
    with AsgiServer(build_asgi_app(app)) as server:
        bot = Bot(server.url, fake, ScriptedPipeline())
        bot.event(mention("Can I LoRA fine-tune Llama-2-13B on one A10?", ts="1700003000.000001"))
        first = answered(fake)[0]
        bot.event(message("and with two of them?", ts="1700003000.000002",
                          thread_ts="1700003000.000001"))
        second = answered(fake, 2)[1]
    reference = Assistant(backend="offline")
    expected = [reference.ask("Can I LoRA fine-tune Llama-2-13B on one A10?", "ref"),
                reference.ask("and with two of them?", "ref")]
    for got, want in zip((first, second), expected, strict=True):
        assert want.verdict is not None
        assert got["blocks"][0]["text"]["text"].startswith("❌" if want.verdict == "no" else "✅")
        body = texts(got["blocks"])
        for option in want.options:
            assert f"{option.num_gpus}× {option.gpu}" in body
            assert f"{option.total_gib:.2f} GiB" in body and f"{option.capacity_gib:.2f} GiB" in body
    assert [o.num_gpus for o in expected[1].options] == [2]


def test_a_failing_feedback_store_is_reported_not_raised(fake: FakeSlack,
                                                         pipeline: ScriptedPipeline,
                                                         settings: SlackSettings) -> None:
    def broken_store(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    app = build_slack_app(settings, pipeline=pipeline, feedback=broken_store,
                          client=WebClient(token=TOKEN, base_url=fake.api_url))
    with AsgiServer(build_asgi_app(app)) as server:
        bot = Bot(server.url, fake, pipeline)
        bot.event(mention("13B?", ts="1700003100.000001"))
        final = answered(fake)[0]
        bot.form(action_body("headroom_feedback_up", turn_id(final["blocks"]),
                             fake.response_url("fb"), ephemeral=False))
        note = fake.wait_for("chat.postEphemeral")[0].args
    assert note["text"] == "Sorry, your feedback was not stored (OSError)."
