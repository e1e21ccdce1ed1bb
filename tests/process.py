"""Start real `mockinterview serve` processes for tests that talk over a socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    env: dict[str, str],
    *,
    port: int | None = None,
    timeout: float = 60,
    log_level: str = "warning",
    output: Path | None = None,
    cwd: Path = ROOT,
) -> Iterator[str]:
    """Run `mockinterview serve` with `env` added to the environment (in `cwd`); yields its base URL.
    Its stdout and stderr go to `output` when given (for tests that read what it prints)."""
    port = port or free_port()
    full_env = {**os.environ, **env}
    # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe would block it.
    # Closed in the finally below, after the server.
    log = output.open("w+b") if output else tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli.commands", "serve", "--port", str(port), "--log-level", log_level],
        cwd=cwd,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited early:\n{log.read().decode(errors='replace')}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not become ready")
            time.sleep(0.2)
        yield base_url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
