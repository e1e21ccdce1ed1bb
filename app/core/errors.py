"""Errors a client is expected to handle; each carries an `extensions.code`.

Anything else raised in a resolver is masked as "Unexpected error." (see schema/extensions.py).
"""

from __future__ import annotations

from typing import Any

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
CONFLICT = "CONFLICT"
INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
RATE_LIMITED = "RATE_LIMITED"
# The request itself cannot be served as sent (e.g. a subscription over plain HTTP); an HTTP 4xx.
BAD_REQUEST = "BAD_REQUEST"


class AppError(Exception):
    """An expected, client-facing error with a stable code."""

    code: str = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}


class Unauthenticated(AppError):
    code = UNAUTHENTICATED

    def __init__(self, message: str = "Authentication required.", **extensions: Any) -> None:
        super().__init__(message, **extensions)


class Forbidden(AppError):
    code = FORBIDDEN

    def __init__(self, message: str = "You are not allowed to do this.", **extensions: Any) -> None:
        super().__init__(message, **extensions)


class NotFound(AppError):
    code = NOT_FOUND

    def __init__(self, message: str = "Not found.", **extensions: Any) -> None:
        super().__init__(message, **extensions)


class BadUserInput(AppError):
    code = BAD_USER_INPUT

    def __init__(self, message: str, *, field: str | None = None, **extensions: Any) -> None:
        if field is not None:
            extensions["field"] = field
        super().__init__(message, **extensions)


class Conflict(AppError):
    code = CONFLICT


class InsufficientPoints(AppError):
    code = INSUFFICIENT_POINTS


class BadRequest(AppError):
    code = BAD_REQUEST


class ServiceUnavailable(AppError):
    """A dependency (the database, Redis) cannot be reached; retrying later may work."""

    code = "SERVICE_UNAVAILABLE"


class RateLimited(AppError):
    code = RATE_LIMITED

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests; try again later.", retryAfter=retry_after)
