"""`mockinterview` command line: serve, worker, migrate, set-role, export-schema, build-allowlist,
seed-demo, rotate-files-key."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import uvicorn

from app.cli.seed import run_seed_demo
from app.core.enums import Role
from app.core.errors import Conflict, NotFound
from app.core.events import create_hub
from app.core.file_crypto import FilesKey, FilesKeyError
from app.core.passwords import Passwords
from app.core.ratelimit import MemoryRateLimiter
from app.core.settings import Settings, SettingsError, get_settings
from app.core.tls import ServerTls, TlsConfigError
from app.core.tokens import AccessTokens
from app.http.persisted_queries import build_manifest
from app.jobs.worker import JobWorker
from app.ops.logging_setup import configure_logging, logging_config
from db.embedded import NoEmbeddedDatabase, embedded_pgdata, resolve_database_url
from db.migrate import database_migration_status, upgrade
from db.session import create_engine, create_sessionmaker
from resolvers import moderation, uploads
from resolvers.unit_of_work import Services, UnitOfWork
from schema.build import build_schema
from schema.core_schema import graphql_core_schema

ROLES = tuple(Role)


def _database_url(settings: Settings, *, create: bool = False) -> str:
    """DATABASE_URL, else the embedded database in DATA_DIR, migrated to head. Only `serve` creates
    the embedded one (`create`); without it a missing one raises `NoEmbeddedDatabase` (see `main`)."""
    url, embedded = resolve_database_url(settings, require_existing=not create)
    if embedded:
        upgrade(url)
    return url


def listen_url(host: str, port: int, *, tls: bool = False) -> str:
    """`http://host:port` (`https` with TLS) of the address `serve` listens on (loopback for the
    wildcard addresses)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def default_public_base_url(settings: Settings, host: str, port: int, *, tls: bool = False) -> None:
    """PUBLIC_BASE_URL, unless set, is the address `serve` listens on (workers inherit it)."""
    if "public_base_url" in settings.model_fields_set and settings.public_base_url:
        return
    os.environ["PUBLIC_BASE_URL"] = listen_url(host, port, tls=tls)
    get_settings.cache_clear()


def _server_tls(args: argparse.Namespace, settings: Settings) -> ServerTls | None:
    """--ssl-certfile/--ssl-keyfile, else SSL_CERTFILE/SSL_KEYFILE, checked before any worker starts."""
    certfile = args.ssl_certfile or settings.ssl_certfile
    keyfile = args.ssl_keyfile or settings.ssl_keyfile
    tls = ServerTls.of(Path(certfile) if certfile else None, Path(keyfile) if keyfile else None)
    if tls is not None:
        tls.check()
    return tls


def _prepare_secrets(settings: Settings) -> None:
    """Generate development's secrets once, before workers fork; production must have set them."""
    settings.resolved_secret_key()
    settings.resolved_files_key()


def _migrations_problem(database_url: str) -> str | None:
    """Why `serve` must not start on this external database (it is behind this release's
    migrations), or None. An unreachable database is only warned about: /readyz reports it."""
    try:
        status = asyncio.run(database_migration_status(database_url))
    except Exception as exc:  # any failure to look: start anyway, readiness keeps checking
        print(
            f"warning: could not check the database's migrations ({type(exc).__name__}: {exc}); "
            "/readyz answers 503 until the database answers and is migrated",
            file=sys.stderr,
        )
        return None
    if not status.pending:
        return None
    return (
        f"the database at DATABASE_URL is {status.describe()}: run `mockinterview migrate` with the same "
        "DATABASE_URL first, then start `mockinterview serve` again"
    )


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
    try:
        tls = _server_tls(args, settings)
        _prepare_secrets(settings)
    except (TlsConfigError, SettingsError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    log_level = (args.log_level or settings.log_level).lower()
    log_config = logging_config(settings.resolved_log_format, log_level)
    configure_logging(settings.resolved_log_format, log_level)
    _prepare_multiprocess_metrics(settings, args.workers)
    default_public_base_url(settings, args.host, args.port, tls=tls is not None)
    if not settings.database_url:
        # Create (first time), start and migrate the embedded server once here; workers inherit its URL.
        os.environ["DATABASE_URL"] = _database_url(settings, create=True)
        get_settings.cache_clear()
    elif (problem := _migrations_problem(settings.database_url)) is not None:
        print(problem, file=sys.stderr)
        return 1
    scheme = "https" if tls else "http"
    print(f"GraphQL endpoint: {scheme}://{args.host}:{args.port}/graphql", flush=True)
    if not settings.database_url:
        print(f"Embedded PostgreSQL: {embedded_pgdata(settings.data_dir)} (DATA_DIR)", flush=True)
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
        server_header=False,  # no `server: uvicorn` banner; the `date` header stays (RFC 9110 wants it)
        timeout_graceful_shutdown=args.graceful_timeout,
        lifespan="on",
        **(tls.uvicorn_options() if tls else {}),
    )
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(settings)
    upgrade(url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0


@contextlib.asynccontextmanager
async def _services(settings: Settings, url: str, *, pool_size: int = 1) -> AsyncIterator[Services]:
    """The services a command's domain operations need: `pool_size` database connections, and the
    events hub (through Redis when configured, so running servers hear about the change)."""
    engine = create_engine(url, pool_size=pool_size, max_overflow=0)
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


async def _work(settings: Settings, url: str) -> None:
    """Run a job worker until SIGTERM or SIGINT, then let its running jobs finish."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with _services(settings, url, pool_size=settings.jobs_batch_size) as services:
        worker = JobWorker(services, url, reminders=settings.reminder_scheduler_enabled)
        await worker.start()
        print("job worker started", flush=True)
        try:
            await stop.wait()
        finally:
            await worker.stop()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.resolved_log_format, (settings.log_level).lower())
    asyncio.run(_work(settings, _database_url(settings)))
    return 0


def cmd_set_role(args: argparse.Namespace, settings: Settings) -> int:
    role = args.role.upper()
    if role not in ROLES:
        print(f"role must be one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    try:
        found = asyncio.run(_set_role(settings, _database_url(settings), args.email, Role(role)))
    except Conflict as exc:  # e.g. demoting the last active admin (docs/product.md, "Roles")
        print(exc.message, file=sys.stderr)
        return 1
    if not found:
        print(f"no member with email {args.email}", file=sys.stderr)
        return 1
    print(f"{args.email} is now {role}")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def cmd_build_allowlist(args: argparse.Namespace, settings: Settings) -> int:
    """Print the PERSISTED_QUERIES_FILE for a client's operations, each checked against the schema."""
    schema = build_schema(settings.model_copy(update={"persisted_queries": "off"}))
    try:
        manifest = build_manifest([Path(path) for path in args.paths], schema=graphql_core_schema(schema))
    except (OSError, ValueError) as exc:
        print(f"build-allowlist: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(manifest, indent=2) + "\n")
    return 0


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    return run_seed_demo(_database_url(settings), args)


async def _rotate_files_key(settings: Settings, url: str, old: FilesKey, new: FilesKey) -> uploads.Rotation:
    async with _services(settings, url) as services:
        uow = UnitOfWork.open(services)
        try:
            return await uploads.rotate_files_key(uow, old, new)
        finally:
            await uow.close()


def _replace_development_files_key(settings: Settings, new_key: str) -> None:
    """Development's generated key follows the rotation (an operator's FILES_ENCRYPTION_KEY cannot)."""
    draft = settings.files_key_path.with_suffix(".new")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(new_key)
    draft.replace(settings.files_key_path)


def cmd_rotate_files_key(args: argparse.Namespace, settings: Settings) -> int:
    """Re-wrap data keys from the current files key (FILES_ENCRYPTION_KEY, or development's
    generated one) to the new one; files are not re-encrypted."""
    try:
        new_text = Path(args.new_key_file).read_text().strip() if args.new_key_file else args.new_key
        old, new = settings.resolved_files_key(), FilesKey.parse(new_text)
    except (OSError, SettingsError, FilesKeyError) as exc:
        print(f"rotate-files-key: {exc}", file=sys.stderr)
        return 2
    if old.key_id == new.key_id:
        print("rotate-files-key: the new key is the current key", file=sys.stderr)
        return 2
    rotation = asyncio.run(_rotate_files_key(settings, _database_url(settings), old, new))
    print(f"re-wrapped {rotation.rewrapped} data keys ({rotation.already} were under the new key already)")
    if rotation.foreign:
        print(
            f"{rotation.foreign} data keys are wrapped by neither key and were left as they are",
            file=sys.stderr,
        )
    if settings.files_encryption_key:
        print("now set FILES_ENCRYPTION_KEY to the new key on every instance and restart them")
    else:
        _replace_development_files_key(settings, new_text)
        print(f"the development key in {settings.files_key_path} is now the new key")
    return 1 if rotation.foreign else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockinterview", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP/WebSocket server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default=None, help="default: LOG_LEVEL or info")
    serve.add_argument("--graceful-timeout", type=int, default=30, help="seconds for in-flight work")
    serve.add_argument("--ssl-certfile", default=None, help="HTTPS/WSS certificate chain (PEM); SSL_CERTFILE")
    serve.add_argument("--ssl-keyfile", default=None, help="its private key (PEM); SSL_KEYFILE")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run background jobs only (deliveries, reminders)")
    worker.set_defaults(handler=cmd_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=cmd_migrate)

    set_role = commands.add_parser("set-role", help="give a member a role (e.g. the first ADMIN)")
    set_role.add_argument("email")
    set_role.add_argument("role", help="MEMBER, MODERATOR or ADMIN")
    set_role.set_defaults(handler=cmd_set_role)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(handler=cmd_export_schema)

    allowlist = commands.add_parser(
        "build-allowlist", help="print a persisted query manifest (PERSISTED_QUERIES_FILE) of operations"
    )
    allowlist.add_argument("paths", nargs="+", help=".graphql files, or directories searched for them")
    allowlist.set_defaults(handler=cmd_build_allowlist)

    seed = commands.add_parser("seed-demo", help="load realistic demo data (idempotent)")
    seed.add_argument("--members", type=int, default=1000)
    seed.add_argument("--slots", type=int, default=5000)
    seed.add_argument("--messages", type=int, default=20000)
    seed.set_defaults(handler=cmd_seed_demo)

    rotate = commands.add_parser(
        "rotate-files-key", help="re-wrap every upload's data key with a new FILES_ENCRYPTION_KEY"
    )
    new_key = rotate.add_mutually_exclusive_group(required=True)
    new_key.add_argument(
        "--new-key",
        help="the new key: 32 bytes in base64 (`openssl rand -base64 32`); write --new-key=KEY, "
        "since a URL-safe key may start with -",
    )
    new_key.add_argument("--new-key-file", help="a file holding the new key (keeps it out of `ps`)")
    rotate.set_defaults(handler=cmd_rotate_files_key)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        result: int = args.handler(args, settings)
    except NoEmbeddedDatabase as exc:  # a command other than `serve` in a directory without one
        print(exc, file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
