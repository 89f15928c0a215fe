"""Time the web app offline: start-up, page load, first answer (HTTP and, if present, Chromium).

    python -m ui.web.bench                 # uses $HEADROOM_HOME (the KB index is built once)
    python -m ui.web.bench --browser /usr/bin/chromium

The app is launched in this process on a free loopback port, exactly as ``headroom ui`` does
(warm-up, then ``build_demo()``), with the offline answerer.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
import urllib.request
from pathlib import Path

QUESTION = "Can I fine-tune a 13B model on one A10?"
FOLLOW_UPS = ("How much memory does Llama 3 8B need to serve 32k context?",
              "What does ZeRO-3 shard, and when do I need it?",
              "一张 RTX 4090 能用 QLoRA 微调 Qwen2.5 14B 吗？")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _browser(url: str, chromium: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    lines = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=args)
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.get_by_text("Will it fit?").wait_for()
        lines.append(f"browser: page usable      {time.perf_counter() - start:6.2f} s")
        box = page.locator("#chat-input textarea")
        box.fill(QUESTION)
        start = time.perf_counter()
        box.press("Enter")
        page.get_by_text("Yes, with QLoRA").first.wait_for()
        lines.append(f"browser: first answer     {time.perf_counter() - start:6.2f} s "
                     "(Enter to the answer on screen)")
        browser.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", type=Path, default=None, help="Chromium to drive as well")
    opts = parser.parse_args()
    from gradio_client import Client

    from ui.web import build_demo, serve, warm_up

    start = time.perf_counter()
    warm_up()
    warmed = time.perf_counter() - start
    demo = build_demo()
    _, url, _ = serve(demo, port=_free_port(), prevent_thread_lock=True, quiet=True)
    ready = time.perf_counter() - start
    lines = [f"warm-up (estimator, chart, KB, answerer)  {warmed:6.2f} s",
             f"start-up to serving                      {ready:6.2f} s"]
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as r:
        r.read()
    lines.append(f"HTTP GET / (page html)                   {time.perf_counter() - start:6.3f} s")
    client = Client(url, verbose=False)
    start = time.perf_counter()
    client.predict(QUESTION, api_name="/chat")
    lines.append(f"first answer over HTTP (gradio_client)   {time.perf_counter() - start:6.3f} s")
    times = []
    for q in FOLLOW_UPS * 3:
        start = time.perf_counter()
        client.predict(q, api_name="/chat")
        times.append(time.perf_counter() - start)
    lines.append(f"median of {len(times)} more answers              "
                 f"{statistics.median(times):6.3f} s")
    client.close()
    if opts.browser is not None:
        lines += _browser(str(url), opts.browser)
    demo.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
