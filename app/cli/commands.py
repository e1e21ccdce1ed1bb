"""`mockinterview` command line: serve, migrate, set-role, export-schema, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import uvicorn

from app.cli.seed import run_seed_demo
from app.core.enums import Role
from app.core.errors import NotFound
from app.core.events import create_hub
from app.core.passwords import Passwords
from app.core.ratelimit import MemoryRateLimiter
from app.core.settings import Settings, SettingsError, get_settings
from app.core.tokens import AccessTokens
from app.ops.logging_setup import configure_logging, logging_config
from db.embedded import resolve_database_url
from db.migrate import upgrade
from db.session import create_engine, create_sessionmaker
from resolvers import moderation
from resolvers.unit_of_work import Services, UnitOfWork
from schema.build import build_schema

ROLES = tuple(Role)


def _database_url(settings: Settings) -> str:
    url, embedded = resolve_database_url(settings)
    if embedded:
        upgrade(url)
    return url


def _prepare_multiprocess_metrics(settings: Settings, workers: int) -> None:
    """With several workers, metrics go through files so any worker can answer /metrics."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory and workers > 1:
        directory = str((settings.data_dir / "prometheus").resolve())
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # samples of a previous run would be summed in
            stale.unlink()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    log_level = (args.log_level or settings.log_level).lower()
    log_config = logging_config(settings.resolved_log_format, log_level)
    configure_logging(settings.resolved_log_format, log_level)
    _prepare_multiprocess_metrics(settings, args.workers)
    if not settings.database_url:
        # Start and migrate the embedded server once here; workers inherit its URL.
        os.environ["DATABASE_URL"] = _database_url(settings)
        get_settings.cache_clear()
    settings.resolved_secret_key()  # generate the development secret once, before workers fork
    print(f"GraphQL endpoint: http://{args.host}:{args.port}/graphql", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through SystemExit instead
    # lets atexit hooks run, which is how pgserver stops the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.http.factory:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=log_level,
        log_config=log_config,
        access_log=False,  # app.ops.observability logs one richer line per request instead
        proxy_headers=True,
        timeout_graceful_shutdown=args.graceful_timeout,
        lifespan="on",
    )
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(settings)
    upgrade(url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0


@contextlib.asynccontextmanager
async def _services(settings: Settings, url: str) -> AsyncIterator[Services]:
    """The services a command's domain operations need: one database connection, and the events hub
    (through Redis when configured, so running servers hear about the change)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    hub = create_hub(settings.redis_url)
    try:
        await hub.start()
        yield Services(
            settings=settings,
            sessionmaker=create_sessionmaker(engine),
            passwords=Passwords(settings),
            tokens=AccessTokens(settings),
            rate_limiter=MemoryRateLimiter(),
            hub=hub,
        )
    finally:
        await hub.stop()
        await engine.dispose()


async def _set_role(settings: Settings, url: str, email: str, role: Role) -> bool:
    """`setUserRole` as the command line (no acting member); False when nobody has this email."""
    async with _services(settings, url) as services:
        uow = UnitOfWork.open(services)
        try:
            user_id = await moderation.member_id_by_email(uow, email)
            if user_id is None:
                return False
            await moderation.set_role(uow, None, user_id, role)
        except NotFound:  # deleted meanwhile
            return False
        finally:
            await uow.close()
    return True


def cmd_set_role(args: argparse.Namespace, settings: Settings) -> int:
    role = args.role.upper()
    if role not in ROLES:
        print(f"role must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if not asyncio.run(_set_role(settings, _database_url(settings), args.email, Role(role))):
        print(f"no member with email {args.email}", file=sys.stderr)
        return 1
    print(f"{args.email} is now {role}")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    return run_seed_demo(_database_url(settings), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockinterview", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP/WebSocket server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default=None, help="default: LOG_LEVEL or info")
    serve.add_argument("--graceful-timeout", type=int, default=30, help="seconds for in-flight work")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=cmd_migrate)

    set_role = commands.add_parser("set-role", help="give a member a role (e.g. the first ADMIN)")
    set_role.add_argument("email")
    set_role.add_argument("role", help="MEMBER, MODERATOR or ADMIN")
    set_role.set_defaults(handler=cmd_set_role)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(handler=cmd_export_schema)

    seed = commands.add_parser("seed-demo", help="load realistic demo data (idempotent)")
    seed.add_argument("--members", type=int, default=1000)
    seed.add_argument("--slots", type=int, default=5000)
    seed.add_argument("--messages", type=int, default=20000)
    seed.set_defaults(handler=cmd_seed_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    result: int = args.handler(args, settings)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
