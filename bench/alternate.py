"""Ours against PostGraphile 4 and 5 in alternating rounds, on the reads the compiled path serves.

    .venv/bin/python bench/alternate.py [--rounds 3] [--duration 5] [--concurrency 32]

`bench/run.py` measures each server after the other, so load that comes and goes on a small machine
falls on one server and not the others. Here the three servers run at once on one freshly seeded
`mi_bench` (the same preparation as `bench/run.py`): ours with one worker and production settings,
PostGraphile 4.14 and 5 in one Node process each; each round measures every read on each server in
turn. Printed per read: the median req/s and p99 of each server over the rounds and the median of the
per-round ratios (ours / v4, ours / v5). Idle servers cost nothing meanwhile (they wait on sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
from contextlib import AsyncExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run, scenarios  # noqa: E402
from bench.load import Result  # noqa: E402
from bench.procs import free_port, start_server  # noqa: E402

READS = ("board_uncached", "my_interviews", *scenarios.KEYED_READS)
Case = tuple[list[scenarios.Body], list[str], bool]  # bodies, tokens, paired


async def our_cases(base: str, seeded: scenarios.SeedInfo, sdl: str) -> dict[str, Case]:
    tokens = await run.login_all(base, seeded.emails)
    cases: dict[str, Case] = {
        "board_uncached": ([scenarios.board_body(nonce=n) for n in range(20_000)], [], False),
        "my_interviews": ([scenarios.mine_body(scenarios.interview_has_messages(sdl))], tokens, False),
    }
    for read in scenarios.KEYED_READS:
        bodies, read_tokens = run.ours_keyed(read, seeded, tokens)
        cases[read] = (bodies, read_tokens, read == "chat_history")
    return cases


async def peer_cases(peer: run.Peer, base: str, seeded: scenarios.SeedInfo, sdl: str) -> dict[str, Case]:
    bodies = await peer.bodies(base, seeded, scenarios.interview_has_messages(sdl))
    # PostGraphile has no response cache: its board is a miss every time.
    return {("board_uncached" if read == "board" else read): (b, [], False) for read, b in bodies.items()}


async def main_async(args: argparse.Namespace) -> int:
    run.WORK.mkdir(parents=True, exist_ok=True)
    seeded, sdl = await run.prepare({})
    figures: dict[str, dict[str, list[Result]]] = {}
    async with AsyncExitStack() as stack:
        servers: dict[str, tuple[str, dict[str, Case]]] = {}
        port = free_port()
        env = run.server_env(run.DSN, secrets.token_urlsafe(36))
        await stack.enter_async_context(start_server(ROOT, run.VENV_BIN, env, port, 1, run.WORK))
        base = f"http://127.0.0.1:{port}"
        servers["ours"] = (base, await our_cases(base, seeded, sdl))
        for name, peer in run.PEERS.items():
            port = free_port()
            proc = await stack.enter_async_context(peer.start(run.WORK, run.DSN, port))
            base = f"http://127.0.0.1:{port}"
            servers[f"{name} {proc.version}"] = (base, await peer_cases(peer, base, seeded, sdl))
        for round_number in range(1, args.rounds + 1):
            run.log(f"round {round_number} of {args.rounds}")
            for read in READS:
                for label, (base, cases) in servers.items():
                    bodies, tokens, paired = cases[read]
                    name = f"alt_{label.split()[0]}_{read}"
                    result = await run.measure(name, base + "/graphql", bodies, tokens, args, paired=paired)
                    figures.setdefault(read, {}).setdefault(label, []).append(result)
    print(report(figures))
    return 0


def report(figures: dict[str, dict[str, list[Result]]]) -> str:
    labels = list(next(iter(figures.values())))
    peers = labels[1:]
    head = "| read | " + " | ".join(f"{label} req/s, p99 ms" for label in labels)
    head += " | " + " | ".join(f"ours / {peer.split()[0]} (p99)" for peer in peers) + " |"
    lines = [head, "|---" * (1 + len(labels) + len(peers)) + "|"]
    for read, by_server in figures.items():
        cells = [
            f"{statistics.median(r.rps for r in results):.0f}, "
            f"{statistics.median(r.p99_ms for r in results):.0f}"
            for results in by_server.values()
        ]
        ours = by_server[labels[0]]
        for peer in peers:
            theirs = by_server[peer]
            rps = statistics.median(a.rps / b.rps for a, b in zip(ours, theirs, strict=True))
            p99 = statistics.median(a.p99_ms / b.p99_ms for a, b in zip(ours, theirs, strict=True))
            cells.append(f"{rps:.2f}x ({p99:.2f}x)")
        lines.append(f"| {read} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every read on every server")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement (default 5)")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections (default 32)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
