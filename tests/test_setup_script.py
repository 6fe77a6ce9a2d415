"""scripts/setup_cpu.sh picks PyTorch's CPU index when it answers, and falls back within seconds when it does not.

Run for real with DRY_RUN=1 (the pip commands are printed, not run) against a local index, a closed port and a
server that accepts connections but never answers.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SETUP = REPO_ROOT / "scripts" / "setup_cpu.sh"


def dry_run(**env: str) -> tuple[subprocess.CompletedProcess, float]:
    clean = {k: v for k, v in os.environ.items() if k not in ("TORCH_INDEX_URL", "TORCH_CPU_INDEX")}
    start = time.monotonic()
    result = subprocess.run(
        ["bash", str(SETUP)], env={**clean, "DRY_RUN": "1", **env}, capture_output=True, text=True, timeout=60
    )
    return result, time.monotonic() - start


def torch_command(result: subprocess.CompletedProcess) -> str:
    (line,) = [line for line in result.stdout.splitlines() if line.endswith(" torch")]
    return line


@pytest.fixture
def local_index(tmp_path: Path) -> Iterator[str]:
    """A wheel index served on 127.0.0.1 (an empty ``torch/`` page is enough for the probe)."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<html></html>", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_reachable_cpu_index_is_used_for_torch(local_index: str) -> None:
    result, _ = dry_run(TORCH_CPU_INDEX=local_index)
    assert result.returncode == 0, result.stderr
    assert f"--index-url {local_index} torch" in torch_command(result)
    assert "not reachable" not in result.stderr


def test_a_closed_port_falls_back_to_the_default_index_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    result, seconds = dry_run(TORCH_CPU_INDEX=f"http://127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    assert "--index-url" not in torch_command(result)
    assert "is not reachable; torch comes from pip's default index" in result.stderr
    assert seconds < 5


def test_a_silent_server_falls_back_within_the_probe_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the connection, never answers
        result, seconds = dry_run(TORCH_CPU_INDEX=f"http://127.0.0.1:{sock.getsockname()[1]}", PROBE_TIMEOUT_S="1")
    assert result.returncode == 0 and "--index-url" not in torch_command(result)
    assert 1 <= seconds < 6


def test_an_explicit_choice_is_never_probed() -> None:
    result, _ = dry_run(TORCH_INDEX_URL="", TORCH_CPU_INDEX="http://127.0.0.1:9")
    assert "--index-url" not in torch_command(result) and result.stderr == ""
    result, _ = dry_run(TORCH_INDEX_URL="https://example.invalid/whl")
    assert "--index-url https://example.invalid/whl torch" in torch_command(result) and result.stderr == ""
