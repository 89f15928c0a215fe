"""Load benchmark: many concurrent conversations against the web app and the Slack HTTP endpoint.

Everything runs on 127.0.0.1 in this process: the Gradio app (``ui.web.build_demo`` +
``serve``) driven by ``gradio_client`` sessions from threads, and the Slack bot
(``ui.slack.build_slack_app`` + ``build_asgi_app`` under uvicorn) receiving correctly signed
``app_mention`` events, each also redelivered once as Slack's retry (``X-Slack-Retry-Num: 1``),
and posting its answers to a local fake Slack Web API (``tests/fake_slack.py``). Each runs on
the offline backend and on LLM mode against a slow scripted OpenAI-compatible server
(``tests/fake_openai.py``, ``tool_flow`` with ``--llm-delay`` seconds before every reply).

Every conversation asks a question and a follow-up (``--turns``). Reported per scenario:
throughput, p50/p99 latency (web: request to final answer; Slack: signed POST to the final
``chat.update`` at the fake Web API, plus the acknowledgement time), errors, and the exactly-once
check: every request answered once (web: one result per request and one stored user turn per
request; Slack: one "thinking" message and one final answer per turn, none for redeliveries).

Bounded: ``--conversations`` per scenario, ``--seconds`` of wall time per scenario (no new turn
starts after it; unstarted turns are reported as skipped, not dropped), and per-request timeouts.

Run from the project root:  python bench/load.py [--conversations N] [--seconds S]
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

QUESTIONS = (
    ("Can I fine-tune a 13B model on one A10?", "and on two of them?"),
    ("Can I serve Qwen2.5-7B with vLLM on a single RTX 4090?", "and with 8k context?"),
    ("单卡RTX 4090能用QLoRA微调Qwen2.5-14B吗?", "两张呢?"),
    ("Can I LoRA fine-tune Llama-2-13B on one A10?", "and with QLoRA?"),
)
SECRET = "8f14e45fceea167a5a36dedd4bea2543"
TOKEN = "xoxb-1111-2222-loadbenchtoken"
FAILURE_MARKS = ("Sorry, I could not answer", "抱歉，这个问题我没能回答", "Traceback")


@dataclass
class Result:
    """What one scenario measured."""

    name: str
    backend: str
    conversations: int
    planned: int = 0
    sent: int = 0
    answered: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self._lock:
            self.errors.append(what)

    @property
    def skipped(self) -> int:
        return self.planned - self.sent

    @property
    def dropped(self) -> int:
        return self.sent - self.answered


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def answer_ok(text: str) -> bool:
    return len(text.strip()) > 40 and not any(m in text for m in FAILURE_MARKS)


# ---------------------------------------------------------------- the answer pipelines

@contextmanager
def pipeline(backend: str, home: Path, llm_delay_s: float) -> Iterator[Any]:
    """An ``Assistant`` whose conversation store is ``home/headroom.sqlite3``: offline, or
    LLM mode against the slow scripted fake server (stopped on exit)."""
    from fake_openai import FakeOpenAI, tool_flow

    from assistant import Assistant
    from assistant.config import Settings

    if backend == "offline":
        yield Assistant(Settings(home=home), backend="offline")
        return
    with FakeOpenAI(responder=tool_flow, delay_s=llm_delay_s) as fake:
        settings = Settings(home=home, llm_base_url=fake.url, llm_model="fake-model",
                            llm_api_key="sk-bench", llm_timeout_s=10.0, deadline_s=30.0)
        assistant = Assistant(settings, backend="llm")
        try:
            yield assistant
        finally:
            assistant.store.close()


def stored_user_turns(home: Path) -> int:
    db = home / "headroom.sqlite3"
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT count(*) FROM headroom_turns WHERE role = 'user'").fetchone()
        return int(row[0])
    finally:
        conn.close()


# ---------------------------------------------------------------- web app

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_web(backend: str, home: Path, args: argparse.Namespace) -> Result:
    import gradio_client

    from tools.probe import parse_paste
    from ui.web import build_demo, serve

    smi = ROOT / "tests" / "fixtures" / "nvidia-smi" / "a10g_table_NVIDIA-DCGM-232.txt"
    res = Result("web", backend, args.conversations, planned=args.conversations * args.turns)
    with pipeline(backend, home, args.llm_delay) as assistant:
        demo = build_demo(assistant.stream, probe=lambda: parse_paste(smi.read_text()))
        _, url, _ = serve(demo, host="127.0.0.1", port=free_port(), prevent_thread_lock=True,
                          quiet=True)
        deadline = time.monotonic() + args.seconds

        def conversation(i: int) -> None:
            if time.monotonic() > deadline:
                return
            client = gradio_client.Client(str(url), verbose=False, download_files=False)
            try:
                for question in QUESTIONS[i % len(QUESTIONS)][:args.turns]:
                    if time.monotonic() > deadline:
                        return
                    with res._lock:
                        res.sent += 1
                    start = time.perf_counter()
                    try:
                        job = client.submit(question, api_name="/chat")
                        messages = job.result(timeout=args.request_timeout)
                    except Exception as e:  # noqa: BLE001 - counted, the run goes on
                        res.error(f"conv {i}: {type(e).__name__}: {e}")
                        return
                    elapsed = time.perf_counter() - start
                    final = messages[-1]["content"] if messages else ""
                    with res._lock:
                        res.answered += 1
                        res.latencies.append(elapsed)
                    if not answer_ok(str(final)):
                        res.error(f"conv {i}: bad answer {str(final)[:80]!r}")
            finally:
                client.close()

        start = time.perf_counter()
        try:
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(conversation, range(args.conversations)))
            res.wall_s = time.perf_counter() - start
        finally:
            demo.close()
        stored = stored_user_turns(home)
        if stored != res.sent:
            res.error(f"{res.sent} requests sent but {stored} user turns stored")
            res.duplicates += max(0, stored - res.sent)
    return res


# ---------------------------------------------------------------- Slack HTTP endpoint

def run_slack(backend: str, home: Path, args: argparse.Namespace) -> Result:
    from fake_slack import AsgiServer, FakeSlack, event_body, mention, post, signed_headers
    from slack_sdk import WebClient

    from ui.slack import SlackSettings, build_asgi_app, build_slack_app

    res = Result("slack", backend, args.conversations, planned=args.conversations * args.turns)
    with pipeline(backend, home, args.llm_delay) as assistant, FakeSlack() as fake:
        settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, home=home)
        app = build_slack_app(settings, pipeline=assistant.stream,
                              client=WebClient(token=TOKEN, base_url=fake.api_url))
        def finals(channel: str) -> list[Any]:
            with fake._lock:
                calls = list(fake.calls)
            return [c for c in calls if c.status == 200 and c.args.get("channel") == channel
                    and c.method in ("chat.update", "chat.postMessage")
                    and any(b.get("type") == "actions" for b in c.args.get("blocks", []))]

        with AsgiServer(build_asgi_app(app)) as server:
            endpoint = server.url + "/slack/events"
            deadline = time.monotonic() + args.seconds

            def send(body: str, **extra: str) -> float:
                reply = post(endpoint, body, signed_headers(body, SECRET, extra=extra))
                if reply.status != 200:
                    raise RuntimeError(f"HTTP {reply.status}: {reply.body[:80]}")
                return float(reply.seconds)

            def conversation(i: int) -> None:
                channel = f"CLOAD{i:05d}"
                thread_ts = f"1700000000.{i:06d}"
                for turn, question in enumerate(QUESTIONS[i % len(QUESTIONS)][:args.turns]):
                    if time.monotonic() > deadline:
                        return
                    ts = thread_ts if turn == 0 else f"1700000{turn:03d}.{i:06d}"
                    body = event_body(mention(question, ts=ts, channel=channel,
                                              thread_ts=None if turn == 0 else thread_ts))
                    with res._lock:
                        res.sent += 1
                    start = time.monotonic()
                    try:
                        ack = send(body)
                        # Slack redelivers when it thinks the ack was late: answered once anyway
                        send(body, **{"X-Slack-Retry-Num": "1",
                                      "X-Slack-Retry-Reason": "http_timeout"})
                    except Exception as e:  # noqa: BLE001 - counted, the run goes on
                        res.error(f"conv {i}: {type(e).__name__}: {e}")
                        return
                    until = time.monotonic() + args.request_timeout
                    got: list[Any] = []
                    while time.monotonic() < until:
                        got = finals(channel)
                        if len(got) > turn:
                            break
                        time.sleep(0.01)
                    if len(got) <= turn:
                        res.error(f"conv {i} turn {turn}: no answer in {args.request_timeout} s")
                        return
                    with res._lock:
                        res.answered += 1
                        res.acks.append(ack)
                        res.latencies.append(got[turn].at - start)
                    final_text = " ".join(str(b.get("text", {}).get("text", ""))
                                          for b in got[turn].args.get("blocks", [])
                                          if isinstance(b.get("text"), dict))
                    if not answer_ok(final_text):
                        res.error(f"conv {i}: bad answer {final_text[:80]!r}")

            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(conversation, range(args.conversations)))
            res.wall_s = time.perf_counter() - start
            time.sleep(0.5)  # a late duplicate answer would arrive here
        for i in range(args.conversations):
            channel = f"CLOAD{i:05d}"
            expected = sum(1 for _ in QUESTIONS[i % len(QUESTIONS)][:args.turns])
            thinking = [c for c in fake.calls if c.method == "chat.postMessage"
                        and c.args.get("channel") == channel]
            extra = max(0, len(finals(channel)) - expected, len(thinking) - expected)
            res.duplicates += extra
    return res


# ---------------------------------------------------------------- report

def table(results: list[Result]) -> str:
    head = ("front", "backend", "conv", "requests", "answered", "dropped", "dup", "errors",
            "skipped", "wall s", "req/s", "p50 ms", "p99 ms", "ack p50/p99 ms")
    rows = [head]
    for r in results:
        ack = (f"{percentile(r.acks, 50) * 1000:.0f}/{percentile(r.acks, 99) * 1000:.0f}"
               if r.acks else "-")
        rows.append((r.name, r.backend, str(r.conversations), str(r.sent), str(r.answered),
                     str(r.dropped), str(r.duplicates), str(len(r.errors)), str(r.skipped),
                     f"{r.wall_s:.1f}", f"{r.answered / r.wall_s:.1f}" if r.wall_s else "-",
                     f"{percentile(r.latencies, 50) * 1000:.0f}",
                     f"{percentile(r.latencies, 99) * 1000:.0f}", ack))
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    lines = [" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=16,
                        help="conversations per scenario (default 16)")
    parser.add_argument("--turns", type=int, choices=(1, 2), default=2,
                        help="question (+ follow-up) per conversation (default 2)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="conversations in flight at once (default 16)")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="wall-time budget per scenario; no turn starts after it (default 12)")
    parser.add_argument("--llm-delay", type=float, default=0.2,
                        help="seconds the slow fake LLM waits before each reply (default 0.2)")
    parser.add_argument("--request-timeout", type=float, default=30.0,
                        help="per-request limit in seconds (default 30)")
    parser.add_argument("--only", choices=("web", "slack"), help="run one front end")
    parser.add_argument("--backends", default="offline,llm",
                        help="comma-separated: offline, llm (default both)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="headroom-load-"))
    os.environ["HEADROOM_HOME"] = str(home)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    for var in ("HEADROOM_LLM_BASE_URL", "HEADROOM_CHROMA_URL", "HEADROOM_DB_URL"):
        os.environ.pop(var, None)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    started = time.perf_counter()
    fronts: dict[str, Callable[[str, Path, argparse.Namespace], Result]] = {
        "web": run_web, "slack": run_slack}
    if "web" in fronts and args.only != "slack":
        from ui.web import warm_up

        warm_up()  # builds the guide index once, as `headroom ui` does before serving
    else:
        import knowledge

        knowledge.search("warm up")
    print(f"set-up (imports, guide index, warm-up): {time.perf_counter() - started:.1f} s",
          flush=True)
    results = []
    for front, run in fronts.items():
        if args.only and front != args.only:
            continue
        for backend in args.backends.split(","):
            scenario_home = home / f"{front}-{backend}"
            scenario_home.mkdir()
            result = run(backend, scenario_home, args)
            results.append(result)
            print(f"  {front}/{backend}: {result.answered}/{result.sent} answered "
                  f"in {result.wall_s:.1f} s", flush=True)
            for err in result.errors[:5]:
                print(f"    error: {err}", flush=True)
    print()
    print(table(results))
    print(f"\nlatency: web = request to final streamed answer; slack = signed POST to the final "
          f"answer at the fake Web API (each event also redelivered once). slow LLM: "
          f"{args.llm_delay:g} s before every reply, 2 model calls per turn. "
          f"total {time.perf_counter() - started:.1f} s")
    ok = all(not r.errors and r.dropped == 0 and r.duplicates == 0 for r in results)
    print("nothing dropped, nothing answered twice" if ok else "PROBLEMS: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
