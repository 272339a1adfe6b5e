"""Settings from the environment (SELLERDESK_*) and an optional TOML file; validated at start-up."""

from __future__ import annotations

import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sellerdesk.core.errors import ConfigError

CONFIG_ENV = "SELLERDESK_CONFIG"


class Settings(BaseSettings):
    """Everything SellerDesk can be configured with."""

    model_config = SettingsConfigDict(env_prefix="SELLERDESK_", extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SELLERDESK_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SELLERDESK_REDIS_URL", "REDIS_URL", "redis_url"),
    )
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_url: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    worker_threads: int = Field(default=2, ge=1, le=64)
    max_attachment_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_inbound_bytes: int = Field(default=40 * 1024 * 1024, ge=1024)
    job_max_attempts: int = Field(default=8, ge=1, le=100)
    job_backoff_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # The SMTP listener for mail forwarded to SellerDesk; off unless a port is set.
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_max_message_bytes: int = Field(default=40 * 1024 * 1024, ge=1024)
    smtp_sender_rate: int = Field(default=30, ge=1, le=100_000)  # messages per sender a minute
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)  # talking to a store's SMTP server
    # `serve` keeps an IMAP IDLE connection per mailbox (new mail in seconds); false: the
    # scheduler's sweep polls every mailbox every 30 seconds instead.
    imap_idle: bool = True
    demo_on_first_run: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with postgresql:// (or postgresql+asyncpg://) "
                "or sqlite+aiosqlite:///PATH"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sellerdesk.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Written private (never readable by others, not even briefly), then linked into place
        # whole and only once: a process starting at the same moment keeps the first key.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()


# Settings also read from an unprefixed variable (see the aliases on Settings).
_BARE_ENV = {"database_url": ("DATABASE_URL",), "redis_url": ("REDIS_URL",)}


def _file_values(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{CONFIG_ENV}: no such settings file: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return dict(data.get("sellerdesk", data))


def load_settings(**overrides: Any) -> Settings:
    """Build settings from file, environment and overrides; raise ConfigError naming the field."""
    values: dict[str, Any] = {}
    config_path = os.environ.get(CONFIG_ENV)
    if config_path:
        values.update(_file_values(Path(config_path)))
    values.update(overrides)
    try:
        # Environment wins over the file, so only pass file values the environment doesn't set.
        env_names = {k.upper() for k in os.environ}
        file_only = {
            k: v for k, v in values.items()
            if k in overrides or not (
                {f"SELLERDESK_{k.upper()}", *_BARE_ENV.get(k, ())} & env_names
            )
        }
        return Settings(**file_only)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"setting {name!r}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load_settings()
