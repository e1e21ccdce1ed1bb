"""Child processes of the bench (our server, PostGraphile 4 and 5), always stopped on exit or error."""

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


async def _wait_graphql(proc: subprocess.Popen[bytes], port: int, log: Path, limit_s: float = 60) -> None:
    """Until POST /graphql answers `{__typename}` with 200 (the schema is built)."""
    probe = {"query": "{__typename}"}
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{log.stem} exited; log:\n{_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                r = await client.post(f"http://127.0.0.1:{port}/graphql", json=probe)
                if r.status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{log.stem} not ready; log:\n{_tail(log)}")
            await asyncio.sleep(0.3)


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
        await _wait_graphql(proc, port, log)
        yield Proc(proc, version=version)
    finally:
        _stop(proc)


# PostGraphile 5 needs Node >= 22 (on Node 20 every connection field fails); the npm package `node`
# ships the binary, so the bench does not depend on the machine's Node. A directory of its own, since
# `postgraphile@4` and `@5` cannot share one node_modules.
PG5_PACKAGES = ("postgraphile@5.1.5", "@graphile/simplify-inflection@9.0.0", "node@22.23.3")

# The v4 command line, translated: `--schema public`, simplify inflection, setof functions without
# nulls, no GraphiQL, no explain, no JWT or role (both connect as the DSN's user). v4's defaults
# ignoreIndexes and ignoreRBAC become the two disabled plugins: without them v5 would offer
# `condition` and `orderBy` only on indexed columns. Mutations stay on, as in v4.
PG5_CONFIG = """\
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin", "PgRBACPlugin"],
  pgServices: [makePgService({ connectionString: process.env.BENCH_DATABASE_URL, schemas: ["public"] })],
  schema: { pgForbidSetofFunctionsToReturnNull: true },
  grafserv: { host: "127.0.0.1", port: Number(process.env.BENCH_PORT), graphiql: false, watch: false },
  grafast: { explain: false },
};
"""


def _installed_version(modules: Path, package: str) -> str | None:
    manifest = modules / package / "package.json"
    return str(json.loads(manifest.read_text())["version"]) if manifest.exists() else None


def ensure_postgraphile5(work: Path) -> tuple[Path, str]:
    """PostGraphile 5 and Node 22 in bench/.work/pg5 at the pinned versions; returns (directory, version)."""
    home = work / "pg5"
    home.mkdir(parents=True, exist_ok=True)
    modules = home / "node_modules"
    pinned = {spec.rsplit("@", 1)[0]: spec.rsplit("@", 1)[1] for spec in PG5_PACKAGES}
    if any(_installed_version(modules, name) != version for name, version in pinned.items()):
        (home / "package.json").write_text('{"name": "bench-pg5", "private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--save-exact", *PG5_PACKAGES],
            cwd=home,
            check=True,
            timeout=600,
        )
    node = modules / ".bin" / "node"
    node_version = subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True)
    if not node_version.stdout.startswith("v22."):
        raise RuntimeError(f"{node} is {node_version.stdout.strip()!r}, PostGraphile 5 needs Node 22")
    (home / "graphile.config.mjs").write_text(PG5_CONFIG)
    return home, pinned["postgraphile"]


@contextlib.asynccontextmanager
async def start_postgraphile5(work: Path, dsn: str, port: int) -> AsyncIterator[Proc]:
    """PostGraphile 5 (amber + simplify-inflection) on `dsn` under Node 22, on 127.0.0.1:`port`."""
    home, version = ensure_postgraphile5(work)
    log = work / f"postgraphile5-{port}.log"
    env = {**os.environ, "NODE_ENV": "production", "BENCH_DATABASE_URL": dsn, "BENCH_PORT": str(port)}
    node = home / "node_modules" / ".bin" / "node"
    cli = home / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    proc = _spawn([str(node), str(cli), "-C", "graphile.config.mjs"], home, env, log)
    try:
        await _wait_graphql(proc, port, log)
        yield Proc(proc, version=version)
    finally:
        _stop(proc)
