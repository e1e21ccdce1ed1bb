"""CORS: Starlette's middleware, with refusals answered in JSON with an `extensions.code`.

Always installed, also with the default `CORS_ORIGINS=[]`: a preflight then gets the JSON refusal
(rather than 405 from the route), and simple requests get no `Access-Control-Allow-Origin`.
"""

from __future__ import annotations

import orjson
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

ALLOWED_METHODS = ("GET", "POST", "OPTIONS")
# The headers the API reads: bearer tokens, JSON/multipart bodies, request ids, API keys, and the two
# headers that make multipart uploads non-simple requests (graphql_view.py).
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "x-request-id",
    "x-api-key",
    "graphql-require-preflight",
    "apollo-require-preflight",
)
CORS_REFUSED = "CORS_REFUSED"
_STARLETTE_PREFIX = "Disallowed CORS "


def refusal_body(refused: list[str]) -> bytes:
    """The JSON body of a refused preflight; `refused` names what was not allowed."""
    message = "Cross-origin request refused: " + ", ".join(refused) + " not allowed."
    return orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": CORS_REFUSED, "refused": refused}}]}
    )


class JsonCORSMiddleware(CORSMiddleware):
    """`CORSMiddleware` whose refused preflights answer JSON (`CORS_REFUSED`), status 400 as before."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        text = bytes(response.body).decode()
        refused = [part.strip() for part in text.removeprefix(_STARLETTE_PREFIX).split(",") if part.strip()]
        headers = {
            k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")
        }
        return Response(
            refusal_body(refused), status_code=400, headers=headers, media_type="application/json"
        )
