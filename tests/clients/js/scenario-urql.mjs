// The urql set-up of docs/clients.md against a real server (tests/clients/test_urql.py): sign-up,
// a query, a live board event, an avatar upload, persisted queries over GET, and token refresh
// (the socket reconnecting after its token expired; a refused token refreshed once).
import assert from "node:assert/strict";

import { avatarFile, env, http, publishUntilSeen, report, slotInput } from "./harness.mjs";
import { untilExpired, waitFor } from "./harness.mjs";

import { gql } from "@urql/core";
import { Session } from "./session.mjs";
import { createUrqlClient, uploadAvatar } from "./urql.mjs";

let reconnections = 0;
const showLogIn = () => console.error("session ended");
const refetchAfterReconnect = () => {
  reconnections += 1;
};

const session = new Session("http://127.0.0.1:8000/graphql", { onEnded: () => showLogIn() });
const client = createUrqlClient({
  httpUrl: "http://127.0.0.1:8000/graphql",
  wsUrl: "ws://127.0.0.1:8000/graphql",
  session,
  onReconnected: () => refetchAfterReconnect(),
});

const email = `urql-${env.nonce}@example.com`;
const password = "correct horse battery";
const displayName = "Urql";
const specializationId = env.specializationId;

// --- Sign up, then a query with the token ---------------------------------------------------
const SIGN_UP = gql`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { accessToken refreshToken expiresIn user { id email points } }
  }
`;
const signUp = await client.mutation(SIGN_UP, { input: { email, password, displayName } }).toPromise();
if (signUp.error) throw signUp.error;
session.start(signUp.data.signUp);
const signedUpAt = Date.now();
const firstAccessToken = signUp.data.signUp.accessToken;

const ME = gql`
  query Me {
    me { id email points }
  }
`;
const { data: { me } } = await client.query(ME, {}, { requestPolicy: "network-only" }).toPromise();
assert.equal(me.email, email);
assert.equal(me.id, signUp.data.signUp.user.id);

// --- A live board event ------------------------------------------------------------------------
const BOARD_EVENTS = gql`
  subscription BoardEvents($specializationId: ID) {
    openSlotsChanged(specializationId: $specializationId) { kind slot { id title startsAt } }
  }
`;
const seen = [];
const events = client
  .subscription(BOARD_EVENTS, { specializationId })
  .subscribe(({ data, error }) => (error ? console.error(error) : seen.push(data.openSlotsChanged)));

const CREATE_SLOT = gql`
  mutation CreateSlot($input: CreateSlotInput!) { createSlot(input: $input) { id } }
`;
const publish = async () => {
  const result = await client.mutation(CREATE_SLOT, { input: slotInput(0) }).toPromise();
  if (result.error) throw result.error;
  return result.data.createSlot.id;
};
const published = (ids) => seen.some((e) => e.kind === "PUBLISHED" && ids.includes(e.slot.id));
const firstSlots = await publishUntilSeen(publish, published);

// --- An avatar upload ----------------------------------------------------------------------------
const file = await avatarFile();
const uploaded = await uploadAvatar(client, file);
if (uploaded.error) throw uploaded.error;
const avatar = uploaded.data.uploadAvatar;
const served = await fetch(avatar.url);
assert.equal(served.status, 200);
assert.deepEqual(new Uint8Array(await served.arrayBuffer()), new Uint8Array(await file.arrayBuffer()));

// --- Persisted queries: a miss, the document once, then the hash alone over GET --------------------
const apqStart = http.length;
const OPEN_SLOTS = gql`
  query OpenSlots($specializationId: ID) {
    openSlots(specializationId: $specializationId, first: 5) { edges { node { id title } } }
  }
`;
const first = await client.query(OPEN_SLOTS, { specializationId }).toPromise();
const again = await client
  .query(OPEN_SLOTS, { specializationId }, { requestPolicy: "network-only" })
  .toPromise();
assert.ifError(first.error);
assert.deepEqual(again.data, first.data);
const apq = http.slice(apqStart);

// --- The socket's token expires: the server closes it, graphql-ws reconnects with a fresh one -------
await waitFor("the socket to reconnect", () => reconnections > 0, (env.accessTtlSeconds + 20) * 1000);
const slotsAfterReconnect = await publishUntilSeen(publish, published);

// --- A token the server refuses although the client believes it fresh: one refresh, then a retry ---
await untilExpired(signedUpAt);
session.start({ accessToken: firstAccessToken, refreshToken: session.refreshToken, expiresIn: 900 });
const refusedStart = http.length;
const fields = ["id", "email", "points"];
const results = await Promise.all(
  fields.map((field) =>
    client
      .query(gql`query Me_${field} { me { ${field} } }`, {}, { requestPolicy: "network-only" })
      .toPromise(),
  ),
);
const refused = http.slice(refusedStart);
events.unsubscribe();

report({
  email,
  userId: me.id,
  points: me.points,
  events: seen,
  firstSlots,
  slotsAfterReconnect,
  reconnections,
  avatar,
  avatarBytes: file.size,
  apq,
  refused,
  afterRefresh: results.map((r) => r.data?.me ?? r.error?.message),
});
process.exit(0);
