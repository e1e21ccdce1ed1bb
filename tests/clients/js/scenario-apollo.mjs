// The Apollo Client set-up of docs/clients.md against a real server (tests/clients/test_apollo.py):
// sign-up, a query, a live board event, an avatar upload, persisted queries over GET, and token
// refresh (the socket reconnecting after its token expired; a refused token refreshed once).
import assert from "node:assert/strict";

import { avatarFile, env, http, publishUntilSeen, report, slotInput } from "./harness.mjs";
import { untilExpired, waitFor } from "./harness.mjs";

import { gql } from "@apollo/client";
import { createApolloClient, uploadAvatar } from "./apollo.mjs";
import { Session } from "./session.mjs";

let reconnections = 0;
const showLogIn = () => console.error("session ended");
const refetchAfterReconnect = () => {
  reconnections += 1;
};

const session = new Session("http://127.0.0.1:8000/graphql", { onEnded: () => showLogIn() });
const client = createApolloClient({
  httpUrl: "http://127.0.0.1:8000/graphql",
  wsUrl: "ws://127.0.0.1:8000/graphql",
  session,
  onReconnected: () => refetchAfterReconnect(),
});

const email = `apollo-${env.nonce}@example.com`;
const password = "correct horse battery";
const displayName = "Apollo";
const specializationId = env.specializationId;

// --- Sign up, then a query with the token ---------------------------------------------------
const SIGN_UP = gql`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { accessToken refreshToken expiresIn user { id email points } }
  }
`;
const { data } = await client.mutate({
  mutation: SIGN_UP,
  variables: { input: { email, password, displayName } },
});
session.start(data.signUp);
const signedUpAt = Date.now();
const firstAccessToken = data.signUp.accessToken;

const ME = gql`
  query Me {
    me { id email points }
  }
`;
const { data: { me } } = await client.query({ query: ME, fetchPolicy: "network-only" });
assert.equal(me.email, email);
assert.equal(me.id, data.signUp.user.id);

// --- A live board event ------------------------------------------------------------------------
const BOARD_EVENTS = gql`
  subscription BoardEvents($specializationId: ID) {
    openSlotsChanged(specializationId: $specializationId) { kind slot { id title startsAt } }
  }
`;
const seen = [];
const events = client
  .subscribe({ query: BOARD_EVENTS, variables: { specializationId } })
  .subscribe({ next: ({ data }) => seen.push(data.openSlotsChanged), error: (e) => console.error(e) });

const CREATE_SLOT = gql`
  mutation CreateSlot($input: CreateSlotInput!) { createSlot(input: $input) { id } }
`;
const publish = async () => {
  const result = await client.mutate({ mutation: CREATE_SLOT, variables: { input: slotInput(0) } });
  return result.data.createSlot.id;
};
const published = (ids) => seen.some((e) => e.kind === "PUBLISHED" && ids.includes(e.slot.id));
const firstSlots = await publishUntilSeen(publish, published);

// --- An avatar upload ----------------------------------------------------------------------------
const file = await avatarFile();
const { data: { uploadAvatar: avatar } } = await uploadAvatar(client, file);
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
const first = await client.query({ query: OPEN_SLOTS, variables: { specializationId } });
const again = await client.query({
  query: OPEN_SLOTS,
  variables: { specializationId },
  fetchPolicy: "network-only",
});
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
    client.query({ query: gql`query Me_${field} { me { ${field} } }`, fetchPolicy: "network-only" }),
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
  afterRefresh: results.map((r) => r.data.me),
});
process.exit(0);
