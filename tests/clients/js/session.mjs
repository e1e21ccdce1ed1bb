// session.mjs: the member's tokens, for any client. Refreshed when 80% of the access token's life
// has passed, or when the server refuses it; one refresh at a time, because a refresh token is
// single-use and presenting a spent one again revokes the whole session.
const REFRESH_TOKENS = `mutation RefreshTokens($refreshToken: String!) {
  refreshTokens(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }
}`;

export class SessionEnded extends Error {}

export class Session {
  #tokens = null; // { accessToken, refreshToken, refreshAt }
  #refreshing = null;

  constructor(httpUrl, { onEnded } = {}) {
    this.httpUrl = httpUrl;
    this.onEnded = onEnded;
  }

  /** Keep the tokens of an AuthPayload (signUp, logIn, refreshTokens). */
  start({ accessToken, refreshToken, expiresIn }) {
    const refreshAt = Date.now() + expiresIn * 800;
    this.#tokens = { accessToken, refreshToken, refreshAt };
  }

  get refreshToken() {
    return this.#tokens?.refreshToken ?? null;
  }

  /** The access token as it is now (synchronous; null when signed out). */
  get currentAccessToken() {
    return this.#tokens?.accessToken ?? null;
  }

  get expiresSoon() {
    return this.#tokens !== null && Date.now() >= this.#tokens.refreshAt;
  }

  /** An access token worth sending: refreshed first when it expires soon. */
  async accessToken() {
    if (this.expiresSoon) await this.refresh();
    return this.currentAccessToken;
  }

  /** Rotate the tokens; concurrent callers share one request. */
  refresh() {
    this.#refreshing ??= this.#rotate().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  end() {
    this.#tokens = null;
  }

  async #rotate() {
    const refreshToken = this.refreshToken;
    if (refreshToken === null) throw new SessionEnded("Not signed in.");
    // A network failure throws here and keeps the session: the refresh token is still good.
    const response = await fetch(this.httpUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: REFRESH_TOKENS,
        operationName: "RefreshTokens",
        variables: { refreshToken },
      }),
    });
    const { data, errors } = await response.json();
    if (!data?.refreshTokens) {
      // Spent, expired or revoked (logOut, logOutAll, a blocked member): sign in again.
      this.end();
      this.onEnded?.();
      throw new SessionEnded(errors?.[0]?.message ?? `HTTP ${response.status}`);
    }
    this.start(data.refreshTokens);
  }
}
