"""The Slack bot in Socket Mode: the real built-in WebSocket client against a local fake Socket
Mode server (``apps.connections.open`` on the fake Web API hands out its ws:// URL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fake_slack import FakeSlack, FakeSocketMode, ScriptedPipeline, event_body, mention
from slack_sdk import WebClient

from ui.slack import SlackSettings, build_slack_app, build_socket_handler

TOKEN = "xoxb-3333-4444-socketbottoken"
APP_TOKEN = "xapp-1-A1-5555-socketapptoken"


@pytest.fixture
def socket_bot(tmp_path: Any) -> Iterator[tuple[FakeSlack, FakeSocketMode, ScriptedPipeline]]:
    pipeline = ScriptedPipeline()
    settings = SlackSettings(bot_token=TOKEN, app_token=APP_TOKEN, home=tmp_path,
                             update_interval_s=0.0)
    with FakeSlack() as fake:
        ws = FakeSocketMode()
        fake.socket_url = ws.url
        app = build_slack_app(settings, pipeline=pipeline,
                              client=WebClient(token=TOKEN, base_url=fake.api_url))
        handler = build_socket_handler(app, settings)
        handler.connect()  # type: ignore[no-untyped-call]
        try:
            ws.wait_connected()
            yield fake, ws, pipeline
        finally:
            handler.client.auto_reconnect_enabled = False
            ws.close()  # the server hangs up first, so the client's blocking read returns at once
            handler.close()  # type: ignore[no-untyped-call]


def test_socket_mode_acks_and_answers_a_mention(
        socket_bot: tuple[FakeSlack, FakeSocketMode, ScriptedPipeline]) -> None:
    fake, ws, pipeline = socket_bot
    opened = fake.of("apps.connections.open")[0]
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    body = json.loads(event_body(mention("13B LoRA on one A10?", ts="1700002000.000001")))
    ws.send({"envelope_id": "env-1", "type": "events_api", "payload": body,
             "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""})
    assert ws.wait_ack("env-1") == {"envelope_id": "env-1"}
    fake.wait_until(lambda: any(b["type"] == "actions" for c in fake.of("chat.update")
                                for b in c.args.get("blocks", [])), what="the answer")
    assert fake.of("chat.postMessage")[0].args["thread_ts"] == "1700002000.000001"
    assert pipeline.calls == [("13B LoRA on one A10?", "slack:T1:C1:1700002000.000001")]


def test_socket_mode_retry_is_acknowledged_and_dropped(
        socket_bot: tuple[FakeSlack, FakeSocketMode, ScriptedPipeline]) -> None:
    fake, ws, pipeline = socket_bot
    body = json.loads(event_body(mention("13B?", ts="1700002100.000001"), event_id="EvSOCK"))
    for attempt, env in enumerate(("env-a", "env-b")):
        ws.send({"envelope_id": env, "type": "events_api", "payload": body,
                 "accepts_response_payload": False, "retry_attempt": attempt,
                 "retry_reason": "timeout" if attempt else ""})
        ws.wait_ack(env)
    fake.wait_until(lambda: len(fake.of("chat.update")) >= 2, what="the answer")
    assert len(pipeline.calls) == 1


def test_socket_mode_slash_command_ack_carries_the_working_message(
        socket_bot: tuple[FakeSlack, FakeSocketMode, ScriptedPipeline]) -> None:
    fake, ws, pipeline = socket_bot
    payload = {"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/headroom",
               "text": "13B on a T4?", "response_url": fake.response_url("sock"),
               "trigger_id": "1.2.3", "api_app_id": "A1"}
    ws.send({"envelope_id": "env-c", "type": "slash_commands", "payload": payload,
             "accepts_response_payload": True})
    ack = ws.wait_ack("env-c")
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "Working on it" in ack["payload"]["text"]
    reply = fake.wait_for("response/sock")[0].args
    assert reply["response_type"] == "ephemeral"
