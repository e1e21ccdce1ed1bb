// apollo.mjs: Apollo Client 4 for the Mock Interview API: queries and mutations over HTTP (queries
// as persisted-query GETs), subscriptions over graphql-ws, uploads, and the token refresh of
// session.mjs.
import { ApolloClient, ApolloLink, gql, InMemoryCache } from "@apollo/client";
import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { createClient } from "graphql-ws";
import { from, switchMap } from "rxjs";

// Web Crypto: browsers offer it only on https:// pages and http://localhost.
async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const isUnauthenticated = (error) =>
  CombinedGraphQLErrors.is(error) &&
  error.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED");

export function createApolloClient({ httpUrl, wsUrl, session, onReconnected }) {
  const wsClient = createClient({
    url: wsUrl,
    // Called for every (re)connection: the server closes a socket with 4403 when the access token
    // it was opened with expires, and graphql-ws reconnects with a fresh one.
    connectionParams: async () => {
      const token = await session.accessToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    on: {
      // Events published while the socket was down are not replayed: refetch what you show.
      connected: (_socket, _payload, wasRetry) => wasRetry && onReconnected?.(),
    },
  });

  // The server refused the token (expired early, clock skew, a rotated SECRET_KEY): refresh once
  // and retry. A refresh that fails ends the session (session.onEnded).
  const refreshOnUnauthenticated = new ErrorLink(({ error, operation, forward }) => {
    if (!isUnauthenticated(error) || operation.getContext().retried || !session.refreshToken) return;
    operation.setContext({ retried: true });
    return from(session.refresh()).pipe(switchMap(() => forward(operation)));
  });

  const withAccessToken = new SetContextLink(async ({ headers }) => {
    const token = await session.accessToken();
    return { headers: { ...headers, ...(token && { Authorization: `Bearer ${token}` }) } };
  });

  // Queries are sent as GET with only their hash; the first time the server answers
  // PERSISTED_QUERY_NOT_FOUND and the link sends the document once (POST). Mutations stay plain
  // POSTs, so an upload is never sent twice.
  const persistedQueries = ApolloLink.split(
    ({ operationType }) => operationType === "query",
    new PersistedQueryLink({ sha256, useGETForHashedQueries: true }),
  );

  const http = ApolloLink.from([
    refreshOnUnauthenticated,
    withAccessToken,
    persistedQueries,
    // Multipart requests when the variables hold a File or Blob, plain requests otherwise.
    new UploadHttpLink({ uri: httpUrl }),
  ]);

  return new ApolloClient({
    link: ApolloLink.split(
      ({ operationType }) => operationType === "subscription",
      new GraphQLWsLink(wsClient),
      http,
    ),
    cache: new InMemoryCache(),
  });
}

const UPLOAD_AVATAR = gql`
  mutation UploadAvatar($file: Upload!) {
    uploadAvatar(file: $file) { id url contentType width height }
  }
`;

// The server takes multipart requests only with a header that a cross-site form cannot send.
export function uploadAvatar(client, file) {
  return client.mutate({
    mutation: UPLOAD_AVATAR,
    variables: { file },
    context: { headers: { "Apollo-Require-Preflight": "true" } },
  });
}
