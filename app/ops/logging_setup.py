"""Logging: one JSON object per line in production, readable text in development.

`logging_config()` returns a `logging.config.dictConfig` dict; `serve` hands it to uvicorn, which applies
it in every worker process, so our loggers and uvicorn's share one format.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message", "taskName"}
)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """`{"ts": ..., "level": ..., "logger": ..., "message": ..., **extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(record_fields(record))
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Human-readable lines with the `extra=` fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = record_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
        return line


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A dictConfig for our loggers and uvicorn's, all to stderr in `log_format` ("json" or "text")."""
    formatter = (
        "app.ops.logging_setup.JsonFormatter"
        if log_format == "json"
        else "app.ops.logging_setup.TextFormatter"
    )
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own handlers would print a second, unstructured copy; let records reach root.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
            # Strawberry logs every GraphQL error with an excerpt of the query, which may contain literal
            # arguments (passwords, tokens); schema.extensions.errors logs the unexpected ones without it.
            "strawberry.execution": {"level": "CRITICAL"},
            "alembic.runtime.plugins": {"level": "WARNING"},
            # The embedded PostgreSQL's initdb and pg_ctl transcripts (~40 lines) and alembic's line per
            # migration only when debugging: a newcomer's first lines are ours (`GraphQL endpoint: ...`).
            "pgserver": {"level": _unless_debugging(level)},
            "alembic.runtime.migration": {"level": _unless_debugging(level)},
        },
    }


def _unless_debugging(level: str) -> str:
    """`level` at LOG_LEVEL=debug, else at least WARNING."""
    if level == "DEBUG":
        return level
    number = logging.getLevelNamesMapping().get(level, logging.INFO)
    return logging.getLevelName(max(number, logging.WARNING))


def configure_logging(log_format: str, level: str) -> None:
    """Apply `logging_config` to this process."""
    logging.config.dictConfig(logging_config(log_format, level))
