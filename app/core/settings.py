"""All configuration in one place, read from the environment (12-factor)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.file_crypto import FilesKey, FilesKeyError, generate_files_key

INSECURE_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development"}
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """Raised when the configuration cannot be used (e.g. a production server without a secret)."""


class Settings(BaseSettings):
    """Server settings. Every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    app_env: Literal["development", "production"] = "development"
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = None
    data_dir: Path = Path("./.mockinterview")
    # Links the API hands out (calendar feeds, uploaded files, OAuth callbacks). `serve` sets it to the
    # address it listens on when unset (app/cli/commands.py); this default is for everything else.
    public_base_url: str = "http://127.0.0.1:8000"
    redis_prefix: str = "mi:"

    cors_origins: list[str] = Field(default_factory=list)
    ws_allowed_origins: list[str] | None = None
    graphiql: bool | None = None
    introspection: bool | None = None
    # GET /metrics asks for `Authorization: Bearer <METRICS_TOKEN>` when set; unset, it is open in
    # development and answers 404 in production (app/http/metrics.py).
    metrics_token: str | None = None
    # Strict-Transport-Security max-age on replies to HTTPS requests (app/http/security_headers.py); 0 = off.
    hsts_max_age_seconds: int = 31_536_000

    jwt_issuer: str = "mockinterview"
    jwt_audience: str = "mockinterview-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # How long an instance trusts that a session it saw live is still live (app/core/session_cache.py);
    # revocations clear it on every instance through the events hub at once. 0 = check every request.
    session_cache_ttl_seconds: float = 5.0

    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    max_query_depth: int = 12
    max_aliases: int = 20
    max_tokens: int = 2000
    max_body_bytes: int = 1_000_000
    max_page_size: int = 100
    default_page_size: int = 20
    max_subscriptions_per_connection: int = 20

    rate_limit_window_seconds: int = 60
    rate_limit_login_per_ip: int = 30
    rate_limit_login_per_email: int = 10
    rate_limit_signup_per_ip: int = 10
    rate_limit_signup_per_email: int = 5
    rate_limit_messages_per_user: int = 60

    signup_grant_points: int = 1
    booking_cost_points: int = 1
    interview_reward_points: int = 1
    cancellation_cutoff_minutes: int = 120
    start_window_minutes: int = 10
    # An interview can be completed (and its reward paid) only this long after its scheduled start
    # (docs/product.md, rule 10).
    complete_after_minutes: int = 15
    no_show_report_after_minutes: int = 10
    reminder_minutes_before: int = 15
    reminder_scheduler_enabled: bool = True
    # Reminders run as a periodic job of the job queue (app/jobs/); cron with an optional sixth
    # field for seconds.
    reminder_schedule: str = "* * * * * */15"
    # The matching queue (docs/product.md, rule 24): a ticket nobody paired within this wait expires;
    # a matched interviewer who gave no video link meets on this base URL plus a random room name.
    match_ticket_ttl_seconds: int = Field(default=600, ge=10, le=86_400)
    match_video_room_base_url: str = Field(
        default="https://meet.jit.si/mockinterview-", pattern=r"^https?://\S+$"
    )

    # Background jobs (docs/notifications.md): `serve` runs a worker in-process unless this is off
    # (then run `mockinterview worker`); a worker takes up to JOBS_BATCH_SIZE jobs at a time.
    jobs_in_process: bool = True
    jobs_batch_size: int = 10
    # Deliveries outside the app: retried with exponential backoff (base * 2**attempt, capped),
    # dead-lettered after DELIVERY_MAX_ATTEMPTS failed attempts.
    delivery_max_attempts: int = 8
    delivery_retry_base_seconds: float = 5.0
    delivery_retry_max_seconds: float = 3600.0
    # Email over SMTP (smtp://user:pass@host:port, or smtps:// for implicit TLS); unset = no email.
    smtp_url: str | None = None
    email_from: str = "Mock Interview <no-reply@mockinterview.local>"
    smtp_timeout_seconds: float = 10.0
    # Webhooks: one POST waits this long; this many failed attempts in a row disable the webhook.
    webhook_timeout_seconds: float = 10.0
    webhook_max_consecutive_failures: int = 10
    # Web push (RFC 8030/8291/8292): the application server's P-256 key pair, base64url (raw 65-byte
    # public point, raw 32-byte private key), and the `sub` of its VAPID tokens (mailto: or https:).
    # Unset = no web push. Push services keep an undelivered message WEB_PUSH_TTL_SECONDS.
    vapid_public_key: str | None = None
    vapid_private_key: str | None = None
    vapid_subject: str | None = None
    web_push_timeout_seconds: float = 10.0
    web_push_ttl_seconds: int = 86_400
    # Telegram: unset token = no Telegram. The bot's updates (`/start CODE`) are read by a periodic job
    # (getUpdates, TELEGRAM_POLL_SCHEDULE); a `linkTelegram` deep link is valid this long.
    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_poll_schedule: str = "* * * * * */5"
    telegram_link_ttl_seconds: int = 900
    telegram_timeout_seconds: float = 10.0
    # The job queue's history (pgqueuer_log, pgqueuer_statistics) is pruned by a periodic job.
    jobs_retention_schedule: str = "17 * * * *"
    jobs_log_retention_hours: int = 168
    jobs_statistics_retention_days: int = 90
    ws_connection_init_timeout_seconds: float = 10.0
    # Board subscribers with the same document and visibility share one execution (app/ws_fanout.py).
    ws_shared_fanout: bool = True

    # Redis outages (docs/live.md, "When Redis is down"). Idle Redis connections are PINGed before
    # reuse after this many seconds, so one that died in a Redis restart is replaced, not used.
    redis_health_check_seconds: float = 5.0
    # A rate-limit check waits this long for Redis, then counts in this process; while Redis is
    # down, one check per RATE_LIMIT_REDIS_RETRY_SECONDS tries it again.
    rate_limit_redis_timeout_seconds: float = 0.25
    rate_limit_redis_retry_seconds: float = 1.0
    # Events wait in a bounded buffer for a background sender (app/core/events/buffer.py): at most
    # EVENT_BUFFER_SIZE (then the oldest is dropped), one send attempt at most
    # EVENT_PUBLISH_TIMEOUT_SECONDS, and at shutdown at most EVENT_FLUSH_TIMEOUT_SECONDS of sending.
    event_buffer_size: int = 10_000
    event_publish_timeout_seconds: float = 1.0
    event_flush_timeout_seconds: float = 5.0

    log_format: Literal["json", "text"] | None = None
    log_level: str = "INFO"

    # OAuth / OpenID Connect login (a provider is enabled when its client id is set).
    github_client_id: str | None = None
    github_client_secret: str | None = None
    # GitHub Enterprise Server: https://ghe.example.com and https://ghe.example.com/api/v3
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    google_client_id: str | None = None
    google_client_secret: str | None = None
    oidc_issuer: str | None = None
    oidc_discovery_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    # Where the callback sends the browser with the tokens in the URL fragment; JSON when unset.
    oauth_frontend_url: str | None = None

    # Uploads (the whole multipart request must also fit in MAX_BODY_BYTES).
    max_avatar_bytes: int = 512_000
    max_avatar_side_pixels: int = 4096
    max_avatar_pixels: int = 16_000_000
    max_resume_bytes: int = 900_000
    # Uploads at rest (docs/deployment.md, "Files at rest"): each file sealed with its own AES-256-GCM
    # key, wrapped by FILES_ENCRYPTION_KEY (32 bytes, base64). Production requires it; development
    # generates one into DATA_DIR/files_key.
    files_encryption_key: str | None = None
    # Where the sealed bytes go: DATA_DIR/uploads, or an S3-compatible bucket (the `s3` extra).
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None  # unset: AWS S3 itself
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_key_prefix: str = "uploads/"
    # Unset: boto3's own chain (AWS_* variables, shared config, instance or task roles).
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # `serve` speaks HTTPS and WSS with this certificate chain and key (same as --ssl-certfile/--ssl-keyfile).
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    # No overflow by default: under sustained load above the pool size, SQLAlchemy closes every
    # returned overflow connection and opens a new one for the next request (a connect costs more
    # CPU than a page of interviews); requests wait for a pooled connection instead.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # Streaming replicas that GraphQL requests read from (db/replicas.py, docs/deployment.md "Read
    # replicas"): a JSON list of postgresql:// URLs; one lagging more than the max lag is skipped.
    database_replica_urls: list[str] = Field(default_factory=list)
    database_replica_max_lag_seconds: float = 5.0
    database_replica_check_seconds: float = 1.0

    # Anonymous board responses cached in memory, invalidated by slot events (app/response_cache.py).
    response_cache_enabled: bool = True
    response_cache_ttl_seconds: float = 5.0
    response_cache_max_entries: int = 512
    # Documents named by hash (app/core/persisted_queries.py): `apq` registers them on the fly
    # (Redis-shared when REDIS_URL is set, entries expire after the TTL), `allowlist` runs only those of
    # PERSISTED_QUERIES_FILE (`mockinterview build-allowlist`), `off` refuses hashes.
    persisted_queries: Literal["off", "apq", "allowlist"] = "apq"
    persisted_queries_file: Path | None = None
    persisted_queries_ttl_seconds: int = 86_400
    # Reads answered by one SQL statement per root field that builds the JSON (schema/compiled/);
    # off = always the resolver path.
    compiled_reads: bool = True
    # CPython's gen-0 collection threshold for server processes (app/gc_tuning.py); 0 = default 700.
    gc_gen0_threshold: int = 50_000
    # OpenTelemetry tracing (app/tracing.py): on when an OTLP endpoint is set; the standard names.
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_service_name: str = "mockinterview"

    @field_validator(
        "database_url",
        "redis_url",
        "secret_key",
        "metrics_token",
        "smtp_url",
        "vapid_public_key",
        "vapid_private_key",
        "vapid_subject",
        "telegram_bot_token",
        mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.app_env == "production":
            key = self.secret_key or ""
            if key.lower() in INSECURE_SECRETS or len(key) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters when APP_ENV=production "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
                )
        return self

    @field_validator(
        "files_encryption_key",
        "s3_endpoint_url",
        "s3_bucket",
        "s3_access_key_id",
        "s3_secret_access_key",
        "ssl_certfile",
        "ssl_keyfile",
        mode="before",
    )
    @classmethod
    def _blank_means_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _files_settings_usable(self) -> Settings:
        if self.files_encryption_key is not None:
            try:
                FilesKey.parse(self.files_encryption_key)
            except FilesKeyError as exc:
                raise SettingsError(f"{exc} (e.g. `openssl rand -base64 32`).") from exc
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise SettingsError("STORAGE_BACKEND=s3 needs S3_BUCKET.")
        return self

    @model_validator(mode="after")
    def _allowlist_needs_a_file(self) -> Settings:
        if self.persisted_queries == "allowlist" and self.persisted_queries_file is None:
            raise SettingsError("PERSISTED_QUERIES=allowlist needs PERSISTED_QUERIES_FILE (a JSON file).")
        return self

    @property
    def web_push_enabled(self) -> bool:
        return bool(self.vapid_public_key and self.vapid_private_key and self.vapid_subject)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def resolved_log_format(self) -> str:
        """LOG_FORMAT, else JSON in production and text in development."""
        return self.log_format or ("json" if self.is_production else "text")

    def public_url(self, path: str) -> str:
        """An absolute URL for `path` (starting with "/") under PUBLIC_BASE_URL, for links we hand out."""
        return self.public_base_url.rstrip("/") + path

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection

    def resolved_secret_key(self) -> str:
        """The signing key; in development a random one is generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key

    def resolved_files_key(self) -> FilesKey:
        """The key that wraps uploads' data keys: FILES_ENCRYPTION_KEY, required in production; in
        development one is generated once and kept in the data dir."""
        if self.files_encryption_key:
            return FilesKey.parse(self.files_encryption_key)
        if self.is_production:
            raise SettingsError(
                "FILES_ENCRYPTION_KEY must be set when APP_ENV=production (32 random bytes in base64, "
                "e.g. `openssl rand -base64 32`); it encrypts uploaded files."
            )
        return FilesKey.parse(_read_or_create(self.files_key_path, generate_files_key))

    @property
    def files_key_path(self) -> Path:
        """Where development keeps its generated files key."""
        return self.data_dir / "files_key"


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The text of `path`, written first with `make()` (owner-only) if absent. Concurrent first
    callers agree: the file appears whole, through a link that fails when another won."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(make())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
