"""``headroom slack`` end to end: the command started as a process in each mode, talking to the
local fake Slack (``SLACK_API_URL``), answering with the real offline pipeline."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fake_slack import FakeSlack, FakeSocketMode, event_body, mention, post, signed_headers

ROOT = Path(__file__).resolve().parents[1]
BOT = "xoxb-5555-6666-clibottoken"
APP = "xapp-1-A1-7777-cliapptoken"
SECRET = "cafebabecafebabecafebabecafebabe"
RUN = ("import sys; from ui.cli import main; from ui.cli_slack import slack; "
       "main.add_command(slack); sys.argv[0] = 'headroom'; main()")


class Proc:
    """The running command; ``output`` is filled in when it has stopped."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.output = ""


@contextmanager
def headroom_slack(args: list[str], env: dict[str, str]) -> Iterator[Proc]:
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    popen = subprocess.Popen([sys.executable, "-c", RUN, "slack", *args], cwd=ROOT, env=full_env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = Proc(popen)
    try:
        yield proc
    finally:
        popen.send_signal(signal.SIGINT)
        try:
            proc.output = popen.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            popen.kill()
            proc.output = popen.communicate()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_answer(fake: FakeSlack) -> dict[str, object]:
    fake.wait_until(lambda: any(b["type"] == "actions" for c in fake.of("chat.update")
                                for b in c.args.get("blocks", [])), timeout=30, what="answer")
    return fake.of("chat.update")[-1].args


def test_http_mode_serves_signed_events(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    with FakeSlack() as fake:
        env = {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url}
        with headroom_slack(["--mode", "http", "--port", str(port)], env) as proc:
            challenge = json.dumps({"type": "url_verification", "challenge": "c1", "token": "t"})
            deadline = time.monotonic() + 30
            while True:
                try:
                    reply = post(url, challenge, signed_headers(challenge, SECRET))
                    break
                except OSError:
                    assert proc.popen.poll() is None and time.monotonic() < deadline, "no start"
                    time.sleep(0.1)
            assert json.loads(reply.body) == {"challenge": "c1"}
            body = event_body(mention("Can I QLoRA Llama-2-13B on one A10?", ts="1700004000.1"))
            assert post(url, body, signed_headers(body, SECRET)).status == 200
            assert post(url, body, signed_headers(body, "forged-forged-forged")).status == 401
            answer = wait_answer(fake)
    output = proc.output
    assert str(answer["text"]).startswith("✅ Yes, it fits")
    assert "HTTP mode, Request URL path /slack/events" in output
    assert BOT not in output and SECRET not in output
    assert "stopped" in output.splitlines() and proc.popen.returncode == 0, output[-2000:]
    assert "token` will be unused" not in output


def test_socket_mode_connects_and_answers(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        ws = FakeSocketMode()
        fake.socket_url = ws.url
        env = {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, "SLACK_API_URL": fake.api_url}
        try:
            with headroom_slack([], env) as proc:
                ws.wait_connected(timeout=30)
                body = json.loads(event_body(mention("Can I QLoRA Llama-2-13B on one A10?",
                                                     ts="1700004100.1")))
                ws.send({"envelope_id": "e1", "type": "events_api", "payload": body,
                         "accepts_response_payload": False, "retry_attempt": 0,
                         "retry_reason": ""})
                assert ws.wait_ack("e1", timeout=10) == {"envelope_id": "e1"}
                answer = wait_answer(fake)
        finally:
            ws.close()
    output = proc.output
    assert str(answer["text"]).startswith("✅ Yes, it fits")
    assert "Socket Mode, connecting to Slack" in output
    assert BOT not in output and APP not in output
    assert "stopped" in output.splitlines() and proc.popen.returncode == 0, output[-2000:]
    assert "token` will be unused" not in output
