// urql.mjs: @urql/core 6 for the Mock Interview API: queries as persisted-query GETs, mutations and
// uploads over HTTP, subscriptions over graphql-ws, and the token refresh of session.mjs.
import { cacheExchange, Client, fetchExchange, gql, subscriptionExchange } from "@urql/core";
import { authExchange } from "@urql/exchange-auth";
import { persistedExchange } from "@urql/exchange-persisted";
import { createClient } from "graphql-ws";

export function createUrqlClient({ httpUrl, wsUrl, session, onReconnected }) {
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

  const auth = authExchange(async (utils) => ({
    addAuthToOperation(operation) {
      const token = session.currentAccessToken;
      return token ? utils.appendHeaders(operation, { Authorization: `Bearer ${token}` }) : operation;
    },
    // Refresh before sending when 80% of the token's life has passed...
    willAuthError: () => session.expiresSoon,
    // ...or when the server refused it; urql then retries the operation once.
    didAuthError: (error) =>
      session.refreshToken !== null &&
      error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED"),
    refreshAuth: () => session.refresh(),
  }));

  return new Client({
    url: httpUrl,
    exchanges: [
      cacheExchange,
      auth,
      // Queries go as GET with only their hash; after PERSISTED_QUERY_NOT_FOUND the document is
      // sent once. The miss is recognised by its message, "PersistedQueryNotFound".
      persistedExchange({ preferGetForPersistedQueries: true }),
      // Multipart requests when the variables hold a File or Blob.
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({
            unsubscribe: wsClient.subscribe({ ...request, query: request.query || "" }, sink),
          }),
        }),
      }),
    ],
  });
}

const UPLOAD_AVATAR = gql`
  mutation UploadAvatar($file: Upload!) {
    uploadAvatar(file: $file) { id url contentType width height }
  }
`;

// The server takes multipart requests only with a header that a cross-site form cannot send.
export function uploadAvatar(client, file) {
  const fetchOptions = { headers: { "GraphQL-Require-Preflight": "1" } };
  return client.mutation(UPLOAD_AVATAR, { file }, { fetchOptions }).toPromise();
}
