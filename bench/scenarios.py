"""GraphQL bodies of the scenarios (ours, PostGraphile 4's and 5's), row checks, schema probes, the report."""

from __future__ import annotations

import base64
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.seed import Seeded

Body = dict[str, object]
DOCS_BEGIN = "<!-- bench:results:begin -->"
DOCS_END = "<!-- bench:results:end -->"
# --peers name -> the key of its figures in the results (`<key>`, `<key>_sql`, `<key>_version`)
PEERS = {"v4": "postgraphile", "v5": "postgraphile5"}
# The reads of the ratio table, in its order (the board variants are compared with the peers' board).
READS = (
    "board",
    "board_uncached",
    "board_mix",
    "my_interviews",
    "chat_history",
    "points_ledger",
    "notifications",
)
# Reads by a key the bench knows (an interview, a member), the same rows for ours and each PostGraphile.
KEYED_READS = ("chat_history", "points_ledger", "notifications")


def gid(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


class SeedInfo:
    def __init__(self, seeded: Seeded) -> None:
        self.member_ids = seeded.member_ids
        self.emails = seeded.emails
        self.interview_ids = seeded.interview_ids
        self._contention = list(seeded.contention_slot_ids)
        self.participations = seeded.participations
        self.chats = seeded.chats
        self.specialization_id = seeded.specialization_id

    def next_contention_batch(self, n: int) -> list[int]:
        batch, self._contention = self._contention[:n], self._contention[n:]
        return batch


def login_body(email: str, password: str) -> Body:
    return {
        "query": "mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }",
        "variables": {"i": {"email": email, "password": password}},
    }


def board_body(first: int = 20, nonce: int | None = None) -> Body:
    # A `nonce` variable (declared nowhere, so ignored by GraphQL) makes each body a response-cache miss.
    variables: dict[str, object] = {"first": first} if nonce is None else {"first": first, "nonce": nonce}
    return {
        "query": "query Board($first: Int) { openSlots(first: $first) { edges { node { id startsAt "
        "durationMinutes host { displayName } specialization { name } } } } }",
        "variables": variables,
    }


def create_slot_body(specialization_id: int, starts_at: str, minutes: int = 15) -> Body:
    return {
        "query": "mutation Create($i: CreateSlotInput!) { createSlot(input: $i) { id } }",
        "variables": {
            "i": {
                "specializationId": gid("Specialization", specialization_id),
                "startsAt": starts_at,
                "durationMinutes": minutes,
                "videoLink": "https://meet.example.com/bench",
            }
        },
    }


def mine_body(with_messages: bool, first: int = 20) -> Body:
    # "The last 5 messages" (Interview.messages(last:) returns the newest n, oldest first).
    messages = " messages(last: 5) { edges { node { id body createdAt } } }" if with_messages else ""
    return {
        "query": "query Mine($first: Int) { myInterviews(first: $first) { edges { node { id status startsAt "
        "interviewer { displayName } candidate { displayName } specialization { name }"
        f"{messages} }} }} }} }}",
        "variables": {"first": first},
    }


def chat_body(interview_id: int, first: int = 50) -> Body:
    # The oldest `first` messages of one chat (Interview.messages(first:) pages oldest first).
    return {
        "query": "query Chat($id: ID!, $first: Int) { interview(id: $id) { id messages(first: $first) "
        "{ edges { node { id body createdAt } } } } }",
        "variables": {"id": gid("Interview", interview_id), "first": first},
    }


def ledger_body(first: int = 20) -> Body:
    # The viewer's newest `first` ledger entries.
    return {
        "query": "query Ledger($first: Int) { me { pointsLedger(first: $first) { edges { node "
        "{ id amount kind reason createdAt } } } } }",
        "variables": {"first": first},
    }


def notifications_body(first: int = 20) -> Body:
    # The viewer's newest `first` notifications, read or not.
    return {
        "query": "query Notifications($first: Int) { notifications(first: $first) { edges { node "
        "{ id kind payload readAt createdAt } } } }",
        "variables": {"first": first},
    }


def book_body(slot_id: int) -> Body:
    return {
        "query": "mutation Book($s: ID!) { bookSlot(slotId: $s) { id status } }",
        "variables": {"s": gid("Slot", slot_id)},
    }


def _type_block(sdl: str, name: str) -> str:
    match = re.search(r"^type " + name + r"\b[^{]*\{(.*?)^\}", sdl, re.M | re.S)
    return match.group(1) if match else ""


def interview_has_messages(sdl: str) -> bool:
    return has_field(sdl, "Interview", "messages")


def has_field(sdl: str, type_name: str, field: str) -> bool:
    """Whether `type_name` has `field` (with or without arguments) in our schema."""
    return re.search(r"^\s+" + field + r"\b[(:]", _type_block(sdl, type_name), re.M) is not None


def has_reads(sdl: str) -> dict[str, bool]:
    """Which of the keyed reads (chat_history, points_ledger, notifications) our schema offers."""
    return {
        "chat_history": has_field(sdl, "Query", "interview") and interview_has_messages(sdl),
        "points_ledger": has_field(sdl, "Query", "me") and has_field(sdl, "User", "pointsLedger"),
        "notifications": has_field(sdl, "Query", "notifications"),
    }


def send_message_shape(sdl: str) -> str | None:
    """The argument list of Mutation.sendMessage, or None when the field does not exist yet."""
    match = re.search(r"^\s+sendMessage\(([^)]*)\)", _type_block(sdl, "Mutation"), re.M | re.S)
    return match.group(1) if match else None


def send_body(shape: str, interview_id: int) -> Body:
    iid = gid("Interview", interview_id)
    text = "Bench message: how did the system design part go?"
    if "input:" in shape:
        input_type = re.search(r"input:\s*(\w+)", shape)
        name = input_type.group(1) if input_type else "SendMessageInput"
        return {
            "query": f"mutation Send($i: {name}!) {{ sendMessage(input: $i) {{ __typename }} }}",
            "variables": {"i": {"interviewId": iid, "body": text}},
        }
    return {
        "query": "mutation Send($i: ID!, $b: String!) "
        "{ sendMessage(interviewId: $i, body: $b) { __typename } }",
        "variables": {"i": iid, "b": text},
    }


async def postgraphile_names(base: str) -> dict[str, str]:
    """Field names PostGraphile generated (they depend on the inflector); checked by introspection."""
    q = '{ __schema { queryType { fields { name } } } __type(name: "Interview") { fields { name } } }'
    async with httpx.AsyncClient(timeout=10) as client:
        data = (await client.post(base + "/graphql", json={"query": q})).json()["data"]
    query_fields = {f["name"] for f in data["__schema"]["queryType"]["fields"]}
    interview = {f["name"] for f in data["__type"]["fields"]}
    simple = "slots" in query_fields
    return {
        "slots": "slots" if simple else "allSlots",
        "interviews": "interviews" if simple else "allInterviews",
        "host": "host" if simple else "userByHostId",
        "spec": "specialization" if simple else "specializationBySpecializationId",
        "interviewer": "interviewer" if "interviewer" in interview else "userByInterviewerId",
        "candidate": "candidate" if "candidate" in interview else "userByCandidateId",
        "messages": "messages" if "messages" in interview else "messagesByInterviewId",
    }


async def postgraphile_key_names(base: str) -> dict[str, str]:
    """Names of the reads by primary key in either PostGraphile version, by introspection.

    v4 (simplify-inflector): `interview(id:)`, `user(id:)`, node ID `nodeId`, order `ID_*`; v5 (its
    simplify-inflection): `interview(rowId:)`, `user(rowId:)`, node ID `id`, order `ROW_ID_*`.
    """
    q = (
        "{ __schema { queryType { fields { name args { name } } } } "
        '__type(name: "User") { fields { name } } i: __type(name: "Interview") { fields { name } } }'
    )
    async with httpx.AsyncClient(timeout=10) as client:
        data = (await client.post(base + "/graphql", json={"query": q})).json()["data"]
    query_fields = {
        f["name"]: [a["name"] for a in f["args"]] for f in data["__schema"]["queryType"]["fields"]
    }
    user = {f["name"] for f in data["__type"]["fields"]}
    interview = {f["name"] for f in data["i"]["fields"]}
    pk = "rowId" if "rowId" in interview else "id"

    def by_key(table: str) -> str:
        for name in (table, f"{table}ById", f"{table}ByRowId"):
            if query_fields.get(name) == [pk]:
                return name
        raise RuntimeError(f"no {table}({pk}:) read in this PostGraphile's schema")

    return {
        "pk": pk,
        "node_id": "id" if pk == "rowId" else "nodeId",
        "order_pk": "ROW_ID" if pk == "rowId" else "ID",
        "interview": by_key("interview"),
        "user": by_key("user"),
        "messages": "messages" if "messages" in interview else "messagesByInterviewId",
        "ledger": "pointsLedgers" if "pointsLedgers" in user else "pointsLedgersByUserId",
        "notifications": "notifications" if "notifications" in query_fields else "allNotifications",
    }


def pg_chat_body(n: dict[str, str], interview_id: int, first: int = 50) -> Body:
    # One interview by primary key with its oldest `first` messages (ours: interview(id:) messages(first:)).
    return {
        "query": f'{{ {n["interview"]}({n["pk"]}: "{interview_id}") {{ {n["node_id"]} '
        f"{n['messages']}(first: {first}, orderBy: {n['order_pk']}_ASC) {{ nodes {{ {n['node_id']} "
        "body createdAt } } } }"
    }


def pg_ledger_body(n: dict[str, str], user_id: int, first: int = 20) -> Body:
    # The member by primary key (no viewer in PostGraphile) and their newest `first` ledger entries.
    return {
        "query": f'{{ {n["user"]}({n["pk"]}: "{user_id}") {{ {n["ledger"]}(first: {first}, '
        f"orderBy: {n['order_pk']}_DESC) {{ nodes {{ {n['node_id']} amount kind reason createdAt }} }} }} }}"
    }


def pg_notifications_body(n: dict[str, str], user_id: int, first: int = 20) -> Body:
    # The member's newest `first` notifications, the member as a condition.
    return {
        "query": f'{{ {n["notifications"]}(first: {first}, condition: {{userId: "{user_id}"}}, '
        f"orderBy: {n['order_pk']}_DESC) {{ nodes {{ {n['node_id']} kind payload readAt createdAt }} }} }}"
    }


def pg_board_body(n: dict[str, str], first: int = 20) -> Body:
    # openSlots as far as a condition goes: OPEN, soonest first. A condition cannot say "starts in the
    # future", so seed-demo's OPEN slots of the past two weeks come first: other rows than ours, but
    # the same count, shape and plan (the partial index on OPEN slots' (starts_at, id)).
    return {
        "query": f'{{ {n["slots"]}(first: {first}, condition: {{status: "OPEN"}}, '
        f"orderBy: [STARTS_AT_ASC, ID_ASC]) {{ nodes {{ nodeId startsAt durationMinutes "
        f"{n['host']} {{ displayName }} {n['spec']} {{ name }} }} }} }}"
    }


def pg_mine_body(n: dict[str, str], user_id: int, with_messages: bool, first: int = 20) -> Body:
    # PostGraphile has no viewer: the member is a condition, and only the candidate role (an OR needs
    # the filter plugin). Our myInterviews covers both roles, so this query is the lighter one.
    # `nodeId` is PostGraphile's global ID, the counterpart of our `id`.
    messages = (
        f"{n['messages']}(first: 5, orderBy: ID_DESC) {{ nodes {{ nodeId body createdAt }} }}"
        if with_messages
        else ""
    )
    return {
        "query": f'{{ {n["interviews"]}(first: {first}, condition: {{candidateId: "{user_id}"}}, '
        f"orderBy: [STARTS_AT_DESC, ID_DESC]) {{ nodes {{ nodeId status startsAt "
        f"{n['interviewer']} {{ displayName }} {n['candidate']} {{ displayName }} {n['spec']} {{ name }} "
        f"{messages} }} }} }}"
    }


def pg5_board_body(first: int = 20) -> Body:
    # v4's board in PostGraphile 5 names: the node ID is `id`, the primary key column `rowId`.
    return {
        "query": f'{{ slots(first: {first}, condition: {{status: "OPEN"}}, '
        "orderBy: [STARTS_AT_ASC, ROW_ID_ASC]) { nodes { id startsAt durationMinutes "
        "host { displayName } specialization { name } } } }"
    }


def pg5_mine_body(user_id: int, with_messages: bool, first: int = 20) -> Body:
    # v4's my_interviews in PostGraphile 5 names (same candidate-only condition, same newest 5 messages).
    messages = (
        "messages(first: 5, orderBy: ROW_ID_DESC) { nodes { id body createdAt } }" if with_messages else ""
    )
    return {
        "query": f'{{ interviews(first: {first}, condition: {{candidateId: "{user_id}"}}, '
        "orderBy: [STARTS_AT_DESC, ROW_ID_DESC]) { nodes { id status startsAt "
        "interviewer { displayName } candidate { displayName } specialization { name } "
        f"{messages} }} }} }}"
    }


def node_keys(data: object) -> list[int]:
    """Primary keys of the nodes in a response, depth first in response order.

    Both PostGraphile versions encode a node ID as base64 JSON with the key last (v4 `["slots", 1]` in
    `nodeId`, v5 `["Slot", "1"]` in `id`), ours as base64 `Type:key` in `id`, so the responses compare
    without their naming. A notification's `payload` is data, not nodes, and is not searched.
    """
    keys: list[int] = []
    if isinstance(data, dict):
        node_id = data.get("nodeId", data.get("id"))
        if isinstance(node_id, str):
            text = base64.b64decode(node_id).decode()
            keys.append(int(json.loads(text)[-1] if text.startswith("[") else text.rsplit(":", 1)[-1]))
        for name, value in data.items():
            if name == "payload":
                continue
            keys += node_keys(value)
    elif isinstance(data, list):
        for item in data:
            keys += node_keys(item)
    return keys


async def _keys(dsn: str, sql: str, *args: object) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [int(r[0]) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def expected_chat_keys(dsn: str, interview_id: int, first: int = 50) -> list[int]:
    """The interview's key, then its oldest `first` message keys (the nesting of chat_history)."""
    sql = "SELECT id FROM messages WHERE interview_id = $1 ORDER BY id LIMIT $2"
    return [interview_id, *await _keys(dsn, sql, interview_id, first)]


async def expected_ledger_keys(dsn: str, user_id: int, first: int = 20) -> list[int]:
    sql = "SELECT id FROM points_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
    return await _keys(dsn, sql, user_id, first)


async def expected_notification_keys(dsn: str, user_id: int, first: int = 20) -> list[int]:
    sql = "SELECT id FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
    return await _keys(dsn, sql, user_id, first)


async def expected_board_keys(dsn: str, first: int = 20) -> list[int]:
    """The slots the PostGraphile board documents must return, straight from the database."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id FROM slots WHERE status = 'OPEN' ORDER BY starts_at, id LIMIT $1", first
        )
        return [int(r["id"]) for r in rows]
    finally:
        await conn.close()


async def expected_mine_keys(dsn: str, user_id: int, with_messages: bool, first: int = 20) -> list[int]:
    """Interview keys, each followed by its newest 5 message keys (the nesting of my_interviews)."""
    conn = await asyncpg.connect(dsn)
    try:
        keys: list[int] = []
        interviews = await conn.fetch(
            "SELECT id FROM interviews WHERE candidate_id = $1 ORDER BY starts_at DESC, id DESC LIMIT $2",
            user_id,
            first,
        )
        for interview in interviews:
            keys.append(int(interview["id"]))
            if with_messages:
                messages = await conn.fetch(
                    "SELECT id FROM messages WHERE interview_id = $1 ORDER BY id DESC LIMIT 5",
                    interview["id"],
                )
                keys += [int(m["id"]) for m in messages]
        return keys
    finally:
        await conn.close()


async def check_rows(
    label: str, base: str, cases: list[tuple[Body, list[int]]], tokens: list[str] | None = None
) -> int:
    """Raise unless every body returns, without errors, exactly the expected nodes; returns how many.

    `tokens`, when given, are the bearer tokens of the cases, one each (ours reads as the viewer).
    """
    checked = 0
    assert tokens is None or len(tokens) == len(cases)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i, (body, expected) in enumerate(cases):
            headers = {"Authorization": f"Bearer {tokens[i]}"} if tokens else {}
            reply = (await client.post("/graphql", json=body, headers=headers)).json()
            got = node_keys(reply.get("data"))
            if reply.get("errors") or got != expected:
                raise RuntimeError(
                    f"{label} does not return the expected rows for {body['query']}\n"
                    f"expected {expected}\ngot      {got}\nerrors   {reply.get('errors')}"
                )
            checked += len(got)
    return checked


async def row_counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        tables = (
            "users",
            "specializations",
            "slots",
            "interviews",
            "messages",
            "points_ledger",
            "notifications",
        )
        for table in tables:
            out[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608
        out["open_future_slots"] = int(
            await conn.fetchval("SELECT count(*) FROM slots WHERE status = 'OPEN' AND starts_at > now()")
        )
        return out
    finally:
        await conn.close()


def machine_info() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib // 1024 // 1024} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} vCPU {cpu}{mem}, {platform.system()} {platform.release()}"


def _fmt(r: dict[str, Any] | None) -> tuple[str, str, str]:
    if not r:
        return "-", "-", "-"
    return f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"


def _sql(results: dict[str, Any], key: str, scenario: str) -> str:
    c = (results.get(key) or {}).get(scenario)
    return f"{c['data']:.1f} + {c['tx']:.1f} tx" if c else "-"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _peer_label(results: dict[str, Any], key: str) -> str:
    return f"PostGraphile {results.get(key + '_version', '')}"


def table(results: dict[str, Any], workers: list[int]) -> str:
    """Markdown tables: every scenario, then the read ratios ours / each PostGraphile and v5 / v4."""
    lines = [
        "| server | scenario | req/s | p50 ms | p99 ms | ok | errors | conflicts | SQL/request | load1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    servers = [(f"ours, {w} worker{'s' if w > 1 else ''}", f"ours_w{w}", "ours_sql") for w in workers]
    peers = [key for key in PEERS.values() if results.get(key)]
    servers += [(_peer_label(results, key), key, f"{key}_sql") for key in peers]
    for label, key, sql_key in servers:
        for scenario, r in (results.get(key) or {}).items():
            rps, p50, p99 = _fmt(r)
            sql_name = {
                "book_slot": "book_slot_mixed",
                "board_mix": "-",
                "board_uncached": "board_uncached",
            }.get(scenario, scenario)
            lines.append(
                f"| {label} | {scenario} | {rps} | {p50} | {p99} | {r['ok']} "
                f"| {r['graphql_errors'] + r['non_200']}"
                f" | {r['conflicts']} | {_sql(results, sql_key, sql_name)} | {r.get('load1', '-')} |"
            )
    ratios = _ratio_rows(results, workers, peers)
    if ratios:
        lines += [
            "",
            "Ratios are A / B (req/s: higher is better for A; latency: lower is better for A).",
            "",
            "| read | A | B | req/s ratio | p50 ratio | p99 ratio |",
            "|---|---|---|---:|---:|---:|",
            *ratios,
        ]
    return "\n".join(lines)


def _ratio_rows(results: dict[str, Any], workers: list[int], peers: list[str]) -> list[str]:
    """ours / each PostGraphile for every worker count, then PostGraphile 5 / 4 when both ran."""
    pairs = [
        (f"ours, {w} worker{'s' if w > 1 else ''}", results.get(f"ours_w{w}") or {}, key)
        for key in peers
        for w in workers
    ]
    if set(PEERS.values()) <= set(peers):
        pairs.append((_peer_label(results, PEERS["v5"]), results[PEERS["v5"]], PEERS["v4"]))
    rows = []
    for a_label, a_figures, b_key in pairs:
        b_figures = results[b_key]
        for scenario in READS:
            # The board variants (no cache; 5% writes) are all compared with PostGraphile's board.
            b_name = "board" if scenario.startswith("board") and scenario not in b_figures else scenario
            a, b = a_figures.get(scenario), b_figures.get(b_name)
            if a and b:
                rows.append(
                    f"| {scenario} | {a_label} | {_peer_label(results, b_key)} "
                    f"| {_ratio(a['rps'], b['rps'])} | {_ratio(a['p50_ms'], b['p50_ms'])}"
                    f" | {_ratio(a['p99_ms'], b['p99_ms'])} |"
                )
    return rows


def write_docs(path: Path, results: dict[str, Any], table_md: str) -> None:
    """Replace the block between the result markers in docs/performance.md (created if missing)."""
    block = "\n".join(
        [
            DOCS_BEGIN,
            f"Measured {results['date']} on {results['machine']} (Python {results['python']}),",
            f"`{results['command']}` — {results['duration_s']} s per scenario, "
            f"{results['concurrency']} connections, wrk with 1 thread.",
            f"Rows: {results.get('rows')}.",
            "",
            table_md,
            "",
            f"Integrity after the bookSlot runs: {_integrity(results)}.",
            "",
            f"Board cache under a write mix: {_mix(results)}.",
            DOCS_END,
        ]
    )
    text = path.read_text() if path.exists() else f"# Performance\n\n{DOCS_BEGIN}\n{DOCS_END}\n"
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        text = head + block + rest.split(DOCS_END, 1)[1]
    else:
        text += "\n" + block + "\n"
    path.write_text(text)


def _mix(results: dict[str, Any]) -> str:
    parts = []
    for key, value in results.items():
        if key.startswith("ours_w") and isinstance(value, dict) and "board_mix" in value:
            c = value["board_mix"]["stale_check"]
            parts.append(
                f"{key}: {c['checks']} write-then-read checks during the run, {c['stale']} stale, "
                f"{c['inconclusive']} inconclusive, {c['write_failures']} failed writes"
            )
    return "; ".join(parts) or "n/a"


def _integrity(results: dict[str, Any]) -> str:
    parts = []
    for key, value in results.items():
        if key.startswith("ours_w") and isinstance(value, dict) and "book_slot" in value:
            b = value["book_slot"]
            parts.append(
                f"{key}: {b['contended_slots']} contended slots, "
                f"{b['ok']} ok replies (incl. idempotent retries), "
                f"{b['new_spend_entries']} SPEND entries, {b['conflicts']} conflicts, "
                f"checks {b['integrity_after']}"
            )
    return "; ".join(parts) or "n/a"
