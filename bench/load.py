"""Load generation with wrk (C, one thread) and a Lua script that POSTs GraphQL bodies.

Each request picks a body and (optionally) a bearer token at random; `response` classifies the
reply (ok / GraphQL error / CONFLICT / non-200) and `done` prints one JSON line aggregated over threads.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

LUA = r"""
local bodies = {BODIES}
local tokens = {TOKENS}
local paired = {PAIRED}
-- write mix: with probability write_ratio a request is writes[j] sent with write_tokens[j]
local writes = {WRITES}
local write_tokens = {WRITE_TOKENS}
local write_ratio = {WRITE_RATIO}
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  ok, gerr, conflict, bad = 0, 0, 0, 0
  sample = ""
  math.randomseed(os.time() * 100 + tid)
end

function request()
  local headers = {["Content-Type"] = "application/json"}
  if #writes > 0 and math.random() < write_ratio then
    local j = math.random(#writes)
    headers["Authorization"] = "Bearer " .. write_tokens[j]
    return wrk.format("POST", "{PATH}", headers, writes[j])
  end
  local i = math.random(#bodies)
  if #tokens > 0 then
    -- paired: body i belongs to token i (e.g. a message in an interview the member takes part in)
    headers["Authorization"] = "Bearer " .. tokens[paired and i or math.random(#tokens)]
  end
  return wrk.format("POST", "{PATH}", headers, bodies[i])
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 200) end
  elseif string.find(body, '"errors"', 1, true) then
    if string.find(body, 'CONFLICT', 1, true) then
      conflict = conflict + 1
    else
      gerr = gerr + 1
      if sample == "" then sample = string.sub(body, 1, 200) end
    end
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local t = {ok = 0, gerr = 0, conflict = 0, bad = 0}
  for _, th in ipairs(threads) do
    local s = th:get("sample")
    if s ~= nil and s ~= "" then io.write("BENCH_SAMPLE " .. s .. "\n") end
    t.ok = t.ok + th:get("ok"); t.gerr = t.gerr + th:get("gerr")
    t.conflict = t.conflict + th:get("conflict"); t.bad = t.bad + th:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "ok": %d, "graphql_errors": %d, "conflicts": %d, "non_200": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, t.ok, t.gerr, t.conflict, t.bad,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Result:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    graphql_errors: int
    conflicts: int
    non_200: int
    socket_errors: int
    error_sample: str = ""
    load1: float = 0.0

    def row(self) -> dict[str, float | int]:
        return self.__dict__.copy()


def _lua_list(items: list[str]) -> str:
    # Lua long strings avoid escaping JSON; the level is chosen so the body cannot close it.
    return "{" + ",".join(f"[==[{item}]==]" for item in items) + "}"


def write_script(
    path: Path,
    bodies: list[dict[str, object]],
    tokens: list[str],
    url_path: str,
    *,
    paired: bool = False,
    writes: list[tuple[dict[str, object], str]] | None = None,
    write_ratio: float = 0.0,
) -> Path:
    """A wrk script; `writes` (body, token) pairs are mixed in at `write_ratio` of the requests."""
    assert not paired or len(bodies) == len(tokens)
    writes = writes or []
    text = (
        LUA.replace("{WRITES}", _lua_list([json.dumps(b, separators=(",", ":")) for b, _ in writes]))
        .replace("{WRITE_TOKENS}", _lua_list([t for _, t in writes]))
        .replace("{WRITE_RATIO}", repr(write_ratio))
        .replace("{BODIES}", _lua_list([json.dumps(b, separators=(",", ":")) for b in bodies]))
        .replace("{TOKENS}", _lua_list(tokens))
        .replace("{PATH}", url_path)
        .replace("{PAIRED}", "true" if paired else "false")
    )
    path.write_text(text)
    return path


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


async def run_wrk(url: str, script: Path, *, duration: int, concurrency: int, threads: int = 1) -> Result:
    """Run wrk against a 127.0.0.1 URL and return its aggregated figures."""
    assert url.startswith("http://127.0.0.1:"), url
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), duration + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk produced no result:\n{text}")
    d = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        requests=d["requests"],
        rps=d["requests"] / (d["duration_us"] / 1e6),
        p50_ms=d["p50_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        ok=d["ok"],
        graphql_errors=d["graphql_errors"],
        conflicts=d["conflicts"],
        non_200=d["non_200"],
        socket_errors=d["socket_errors"],
        error_sample=next((ln[13:] for ln in text.splitlines() if ln.startswith("BENCH_SAMPLE ")), ""),
    )
