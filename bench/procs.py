"""Child processes of the bench (our server, PostGraphile), always stopped on exit or error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    version: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM the child's process group (uvicorn workers, npx's node), then SIGKILL if needed."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _spawn(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a child in its own process group (so stopping it also stops its workers)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


async def _wait_http(proc: subprocess.Popen[bytes], url: str, log: Path, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited ({proc.returncode}); log:\n{_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                r = await client.get(url)
                if r.status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {limit_s}s; log:\n{_tail(log)}")


@contextlib.asynccontextmanager
async def start_server(
    root: Path, venv_bin: Path, env: dict[str, str], port: int, workers: int, work: Path
) -> AsyncIterator[Proc]:
    """`mockinterview serve` with the given environment; yields once /readyz answers 200."""
    log = work / f"server-{port}.log"
    cmd = [str(venv_bin / "mockinterview"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--graceful-timeout", "2"]
    proc = _spawn(cmd, root, env, log)
    try:
        await _wait_http(proc, f"http://127.0.0.1:{port}/readyz", log)
        # /readyz answers from the first worker; give the others a moment to finish their lifespan.
        await asyncio.sleep(1.0 if workers > 1 else 0.2)
        yield Proc(proc)
    finally:
        _stop(proc)


def ensure_postgraphile(work: Path) -> tuple[Path, str]:
    """PostGraphile v4 + simplify-inflector in bench/.work/node_modules (npm install on first use)."""
    binary = work / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        package = work / "package.json"
        if not package.exists():
            package.write_text('{"name": "bench-work", "private": true}\n')
        packages = ["postgraphile@4", "@graphile-contrib/pg-simplify-inflector@6"]
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", *packages], cwd=work, check=True, timeout=600
        )
    version = json.loads((work / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
    return binary, str(version)


@contextlib.asynccontextmanager
async def start_postgraphile(work: Path, dsn: str, port: int) -> AsyncIterator[Proc]:
    """PostGraphile v4 on `dsn` (simplify-inflector on), listening on 127.0.0.1:`port`."""
    binary, version = ensure_postgraphile(work)
    log = work / f"postgraphile-{port}.log"
    env = {**os.environ, "NODE_ENV": "production"}
    cmd = [str(binary), "-c", dsn, "--host", "127.0.0.1", "--port", str(port), "--schema", "public"]
    cmd += ["--append-plugins", "@graphile-contrib/pg-simplify-inflector", "--disable-query-log"]
    cmd += ["--no-setof-functions-contain-nulls"]
    proc = _spawn(cmd, work, env, log)
    try:
        probe = {"query": "{__typename}"}
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"postgraphile exited; log:\n{_tail(log)}")
                with contextlib.suppress(httpx.HTTPError):
                    r = await client.post(f"http://127.0.0.1:{port}/graphql", json=probe)
                    if r.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgraphile not ready; log:\n{_tail(log)}")
                await asyncio.sleep(0.3)
        yield Proc(proc, version=version)
    finally:
        _stop(proc)
