"""GraphiQL served entirely by this server: the page and its vendored assets (no CDN).

The assets under static/graphiql/ are the npm packages' own UMD/production builds, fetched by
tools/vendor_graphiql.sh (versions and licenses in static/graphiql/VERSIONS.md). Their directory
names carry the versions, so they are served at /graphiql/static/ with an immutable cache lifetime.

Subscriptions go over graphql-ws (graphql-transport-ws) to the page's own /graphql, and the headers
pane's headers are sent as the `connection_init` payload, e.g. {"Authorization": "Bearer <token>"}.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PREFIX = "/graphiql/static"
IMMUTABLE = "public, max-age=31536000, immutable"

# Paths under STATIC_DIR, in load order (tools/vendor_graphiql.sh writes them; keep the versions equal).
STYLESHEETS = (
    "graphiql-3.9.0/graphiql.min.css",
    "graphiql-plugin-explorer-3.2.6/style.css",
)
SCRIPTS = (
    "react-18.3.1/react.production.min.js",
    "react-dom-18.3.1/react-dom.production.min.js",
    "graphiql-3.9.0/graphiql.min.js",
    "graphiql-plugin-explorer-3.2.6/index.umd.js",
    "graphql-ws-6.0.6/graphql-ws.min.js",
)

DEFAULT_QUERY = """# Mock Interview API
#
# Signed in? In the Headers pane below, put
#   {"Authorization": "Bearer <accessToken>"}
# It goes with every request, and in the
# connection_init of subscriptions.
#
# Run: Ctrl-Enter. Autocomplete: Ctrl-Space.

{
  specializations {
    id
    name
  }
}
"""

# The page's own script. Plain ES5-ish JavaScript, no build step; the globals come from SCRIPTS.
BOOT_SCRIPT = """
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var missing = ["React", "ReactDOM", "GraphiQL", "GraphiQLPluginExplorer", "graphqlWs"].filter(
    function (name) { return !window[name]; }
  );
  if (missing.length) {
    root.textContent = "GraphiQL could not start: " + missing.join(", ") + " did not load from " +
      root.getAttribute("data-static") + "/.";
    return;
  }
  var url = window.location.origin + window.location.pathname;
  var wsUrl = url.replace(/^http/, "ws");
  var httpFetcher = GraphiQL.createFetcher({ url: url });
  var socket = null;
  var socketKey = null;

  // One graphql-ws client per set of headers: they are its connection_init payload.
  function socketFor(headers) {
    var params = headers || {};
    var key = JSON.stringify(params);
    if (socket === null || socketKey !== key) {
      if (socket !== null) socket.dispose();
      socket = graphqlWs.createClient({ url: wsUrl, connectionParams: params, lazy: true, retryAttempts: 0 });
      socketKey = key;
    }
    return socket;
  }

  // From the text being sent: GraphiQL's documentAST can lag behind an edit just before a run.
  function isSubscription(params) {
    var doc;
    try { doc = GraphiQL.GraphQL.parse(params.query); } catch (e) { return false; }
    return doc.definitions.some(function (d) {
      return d.kind === "OperationDefinition" && d.operation === "subscription" &&
        (!params.operationName || (d.name && d.name.value === params.operationName));
    });
  }

  function asError(reason) {
    if (Array.isArray(reason) || reason instanceof Error) return reason;  // GraphQL errors, or thrown
    if (reason && typeof reason.code === "number") {  // a CloseEvent
      return new Error("WebSocket closed: " + reason.code + (reason.reason ? " " + reason.reason : ""));
    }
    return new Error("WebSocket error (is the server reachable?)");
  }

  function fetcher(params, options) {
    if (!isSubscription(params)) return httpFetcher(params, options);
    var client = socketFor(options && options.headers);
    return {
      subscribe: function (observer) {
        var dispose = client.subscribe(params, {
          next: function (value) { observer.next(value); },
          error: function (reason) { observer.error(asError(reason)); },
          complete: function () { observer.complete(); }
        });
        return { unsubscribe: dispose };
      }
    };
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: JSON.parse(root.getAttribute("data-default-query")),
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true
    })
  );
})();
"""


# The page's policy: scripts from this server plus the boot script above (by its hash), styles from
# this server plus the inline ones GraphiQL and CodeMirror set, fonts and icons inlined as data: URLs,
# requests (HTTP and the subscription websocket) to this server only, and no framing.
BOOT_SCRIPT_HASH = base64.b64encode(hashlib.sha256(BOOT_SCRIPT.encode()).digest()).decode()
GRAPHIQL_CSP = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' 'sha256-{BOOT_SCRIPT_HASH}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def graphiql_html(static_base: str = STATIC_PREFIX) -> str:
    """The GraphiQL page; every URL in it is on this server, under `static_base`."""
    base = html.escape(static_base.rstrip("/"), quote=True)
    links = "\n".join(f'    <link rel="stylesheet" href="{base}/{path}">' for path in STYLESHEETS)
    scripts = "\n".join(f'    <script src="{base}/{path}"></script>' for path in SCRIPTS)
    default_query = html.escape(json.dumps(DEFAULT_QUERY), quote=True)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL · Mock Interview API</title>
    <link rel="icon" href="data:,">
{links}
    <style>
      body {{ margin: 0; height: 100vh; overflow: hidden; }}
      #graphiql {{ height: 100vh; display: flex; }}
    </style>
  </head>
  <body>
    <div id="graphiql" data-static="{base}" data-default-query="{default_query}">Loading…</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
{scripts}
    <script>{BOOT_SCRIPT}</script>
  </body>
</html>
"""


def graphiql_response(root_path: str = "") -> Response:
    """The page as a response; `root_path` is the ASGI root path when mounted under a prefix."""
    return HTMLResponse(
        graphiql_html(root_path.rstrip("/") + STATIC_PREFIX),
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": GRAPHIQL_CSP,
        },
    )


class ImmutableStaticFiles(StaticFiles):
    """Files in the versioned directories get a one-year immutable lifetime (VERSIONS.md does not)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = IMMUTABLE if "/" in path.strip("/") else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def graphiql_routes(enabled: bool) -> list[BaseRoute]:
    """The route serving the vendored assets at /graphiql/static/ (none when GraphiQL is off)."""
    if not enabled:
        return []
    return [Mount(STATIC_PREFIX, app=ImmutableStaticFiles(directory=STATIC_DIR), name="graphiql-static")]
