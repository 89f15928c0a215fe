"""Shared by the web tests: a free loopback port, the fake server probe, and the app running on
loopback for a module (the fixtures stay in each module, under that module's warning filters)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from knowledge.testing import free_port
from tools.probe import ProbeResult, parse_paste

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
SERVER_SMI = FIXTURES / "a10g_table_NVIDIA-DCGM-232.txt"


def fake_probe() -> ProbeResult:
    """The server's 'probe': a recorded nvidia-smi table through the real parser."""
    return parse_paste(SERVER_SMI.read_text())


@contextmanager
def running_app(home: Path) -> Iterator[str]:
    """The web app warmed up and served on a free loopback port; yields its URL."""
    from ui.web import build_demo, serve, warm_up

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEADROOM_HOME", str(home))
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        warm_up()
        demo = build_demo(probe=fake_probe)
        _, local_url, _ = serve(demo, host="127.0.0.1", port=free_port(),
                                prevent_thread_lock=True, quiet=True)
        try:
            yield str(local_url)
        finally:
            demo.close()
            gc.collect()  # report leaked loops/sockets here, under the module's filters
