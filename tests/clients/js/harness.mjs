// harness.mjs: what the scenarios need around the set-ups of docs/clients.md (not part of them).
// The set-ups and the snippets name the development server, http://127.0.0.1:8000, as the doc
// does; fetch and WebSocket are wrapped to send those requests to the test's server instead
// (API_ORIGIN) and to record every exchange, so the scenarios can check what went over the wire.
import { readFile } from "node:fs/promises";

const DOC_ORIGIN = "http://127.0.0.1:8000";
const DOC_WS_ORIGIN = "ws://127.0.0.1:8000";

export const env = {
  apiOrigin: required("API_ORIGIN"),
  specializationId: required("SPECIALIZATION_ID"),
  avatarPath: required("AVATAR_PNG"),
  accessTtlSeconds: Number(required("ACCESS_TTL_SECONDS")),
  nonce: required("NONCE"),
};

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** Every HTTP exchange: { method, url, operation, query, refreshToken, status, cacheControl, codes, data }. */
export const http = [];
/** Close events of the websockets: { code, reason }. */
export const socketCloses = [];
/** Websocket events in order, with the seconds since the scenario started: for failure reports. */
export const socketEvents = [];
const startedAt = Date.now();
const since = () => (Date.now() - startedAt) / 1000;

function toServer(url) {
  const text = String(url);
  if (text.startsWith(DOC_ORIGIN)) return env.apiOrigin + text.slice(DOC_ORIGIN.length);
  const wsOrigin = env.apiOrigin.replace(/^http/, "ws");
  if (text.startsWith(DOC_WS_ORIGIN)) return wsOrigin + text.slice(DOC_WS_ORIGIN.length);
  return text;
}

function describeRequest(url, init) {
  const parsed = new URL(url);
  let body = {};
  if (typeof init.body === "string") body = JSON.parse(init.body);
  else if (init.body instanceof FormData) body = JSON.parse(init.body.get("operations"));
  const param = (name) => parsed.searchParams.get(name);
  const operation = body.operationName ?? param("operationName");
  const query = body.query ?? param("query");
  const refreshToken = body.variables?.refreshToken ?? null;
  const multipart = init.body instanceof FormData;
  return { method: init.method ?? "GET", url: parsed.pathname, operation, query, refreshToken, multipart };
}

async function describeResponse(response) {
  const result = { status: response.status, cacheControl: response.headers.get("cache-control") };
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) return result;
  const body = await response.clone().json();
  return { ...result, codes: (body.errors ?? []).map((e) => e.extensions?.code), data: body.data };
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = toServer(input instanceof Request ? input.url : input);
  const response = await realFetch(url, init);
  if (new URL(url).pathname === "/graphql") {
    http.push({ at: since(), ...describeRequest(url, init), ...(await describeResponse(response)) });
  }
  return response;
};

const RealWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class RecordedWebSocket extends RealWebSocket {
  constructor(url, protocols) {
    super(toServer(url), protocols);
    socketEvents.push({ at: since(), event: "connecting" });
    this.addEventListener("open", () => socketEvents.push({ at: since(), event: "open" }));
    this.addEventListener("message", ({ data }) => socketEvents.push({ at: since(), received: data }));
    this.addEventListener("close", ({ code, reason }) => {
      socketEvents.push({ at: since(), event: "close", code, reason });
      socketCloses.push({ code, reason });
    });
  }

  send(data) {
    socketEvents.push({ at: since(), sent: data });
    super.send(data);
  }
};

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what, predicate, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function avatarFile() {
  return new File([await readFile(env.avatarPath)], "avatar.png", { type: "image/png" });
}

let slots = 0;

/** The input of a new slot in the test's specialization, each an hour after the previous one. */
export function slotInput(hoursFromNow) {
  slots += 1;
  const startsAt = new Date(Date.now() + (48 + hoursFromNow + 2 * slots) * 3_600_000);
  startsAt.setUTCMinutes(0, 0, 0);
  return {
    specializationId: env.specializationId,
    startsAt: startsAt.toISOString(),
    durationMinutes: 60,
    videoLink: "https://meet.example.com/clients",
    title: `Client check ${slots}`,
  };
}

/** The last socket was acknowledged and has not closed since. */
function socketOpen() {
  for (const entry of [...socketEvents].reverse()) {
    if (entry.event === "close") return false;
    if (entry.received?.includes('"connection_ack"')) return true;
  }
  return false;
}

/**
 * Publish slots with `publish` until `seen(slotIds)` holds: a subscription is live on the server
 * only shortly after the client sent it, and a socket closed for an expired token misses the events
 * published until it is back.
 */
export async function publishUntilSeen(publish, seen, attempts = 4) {
  const published = [];
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    await waitFor("an open socket", socketOpen);
    published.push(await publish());
    const deadline = Date.now() + 6_000;
    while (Date.now() < deadline) {
      if (seen(published)) return published;
      await sleep(50);
    }
  }
  throw new Error(`no live event for any of the slots ${published.join(", ")}`);
}

/** Until the access token received at `since` (ms) is refused by the server (its expiry + leeway). */
export async function untilExpired(since) {
  const leewaySeconds = 5;
  const expiredAt = since + (env.accessTtlSeconds + leewaySeconds + 1) * 1000;
  await sleep(Math.max(0, expiredAt - Date.now()));
}

// A scenario that fails says what went over the wire before it stopped.
process.on("uncaughtException", (error) => {
  console.error(error);
  console.error(JSON.stringify({ http, socketEvents }, null, 1));
  process.exit(1);
});

export function report(summary) {
  console.log(JSON.stringify({ ...summary, http, socketCloses }));
}
