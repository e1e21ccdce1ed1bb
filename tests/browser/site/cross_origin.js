// A client on another origin than the API: signs up, uploads an avatar (both preflight headers),
// shows it, reads the board and follows it live over graphql-ws. The test reads window.state.
"use strict";

const params = new URLSearchParams(window.location.search);
const api = params.get("api");
const spec = params.get("spec");
const state = (window.state = { steps: [], events: [], connected: false, done: false, error: null });

function log(step, value) {
  state.steps.push(step);
  state[step] = value;
  document.getElementById("log").textContent += `${step}: ${JSON.stringify(value)}\n`;
}

async function graphql(query, variables, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${api}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function png(width, height, color) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = color;
  context.fillRect(0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

// The GraphQL multipart request spec; `preflight` names the header that makes it non-simple.
async function uploadAvatar(token, blob, preflight) {
  const form = new FormData();
  const query = "mutation($f: Upload!) { uploadAvatar(file: $f) { url width height contentType } }";
  form.append("operations", JSON.stringify({ query, variables: { f: null } }));
  form.append("map", JSON.stringify({ 0: ["variables.f"] }));
  form.append("0", blob, "avatar.png");
  const response = await fetch(`${api}/graphql`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, [preflight]: "1" },
    body: form,
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data.uploadAvatar;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

function loadImage(img, src) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error(`could not load ${src}`));
    img.src = src;
  });
}

async function main() {
  const email = `cross-${Math.random().toString(16).slice(2)}@example.com`;
  const signUp = await graphql(
    "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }",
    { input: { email, password: "correct horse battery", displayName: "Cross Origin" } },
  );
  const token = signUp.signUp.accessToken;
  log("signedUp", signUp.signUp.user.id);

  log("avatar", await uploadAvatar(token, await png(40, 30, "#c00"), "GraphQL-Require-Preflight"));
  const avatar = await uploadAvatar(token, await png(24, 12, "#0a0"), "Apollo-Require-Preflight");
  log("apolloAvatar", avatar);
  // `url` is absolute (PUBLIC_BASE_URL); `new URL` also takes the relative paths of older servers.
  log("avatarImage", await loadImage(document.getElementById("avatar"), new URL(avatar.url, api).href));

  const board = await graphql(
    "query($spec: ID) { openSlots(specializationId: $spec) { edges { node { id } } } }",
    { spec },
    token,
  );
  log("board", board.openSlots.edges.map((edge) => edge.node.id));

  // The vendored graphql-ws UMD build, from the API server.
  await loadScript(`${api}/graphiql/static/graphql-ws-6.0.6/graphql-ws.min.js`);
  const client = graphqlWs.createClient({
    url: api.replace(/^http/, "ws") + "/graphql",
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { connected: () => (state.connected = true) },
  });
  client.subscribe(
    {
      query: "subscription($spec: ID) { openSlotsChanged(specializationId: $spec) { kind slot { id } } }",
      variables: { spec },
    },
    {
      next: (result) => state.events.push(result),
      error: (error) => (state.error = `subscription: ${error && (error.reason || error.message || JSON.stringify(error))}`),
      complete: () => {},
    },
  );
  state.done = true;
}

main().catch((error) => {
  state.error = String(error && error.stack ? error.stack : error);
});
