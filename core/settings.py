"""The one typed settings object (every ``KOLLEGAN_*`` variable, with its help text).

Settings are loaded in entry points (:func:`load_settings`) and passed down; nothing else in the
code reads the environment. A wrong value fails at start with one line naming the variable.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from core.errors import SettingsError

ENV_PREFIX = "KOLLEGAN_"
MIN_SECRET_LENGTH = 32
SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret

Port = Annotated[int, Field(ge=1, le=65535)]
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")  # RFC 1123 host name label
_SECONDS_RE = re.compile(r"\s*\d+(?:\.\d*)?\s*")
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


class Settings(BaseSettings):
    """Kollegan's configuration; each field is ``KOLLEGAN_<FIELD NAME IN CAPITALS>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(
        Path("./var"),
        description="Where the embedded defaults keep their files (database, queue, Maildir).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database; unset means a SQLite file in the data dir. "
        "Production: postgresql+psycopg://user@host/db.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL for the task queue; unset means a SQLite-backed queue in the "
        "data dir.",
    )
    mail_domain: str = Field(
        "kollegan.localhost", description="Domain of the magic addresses (the MX points here)."
    )
    smtp_host: str = Field("127.0.0.1", description="Address the SMTP intake listens on.")
    smtp_port: Port = Field(2525, description="Port the SMTP intake listens on.")
    smtp_timeout: float = Field(
        300.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds an idle SMTP session is kept open (RFC 5321 §4.5.3.2).",
    )
    smtp_max_recipients: int = Field(
        100, ge=1, description="Recipients accepted in one SMTP transaction (more get 452)."
    )
    web_host: str = Field(
        "127.0.0.1", description="Address the portal, API and webhooks listen on."
    )
    web_port: Port = Field(8000, description="Port the portal, API and webhooks listen on.")
    public_url: str | None = Field(
        None,
        description="Base URL of the portal in links the agent mails (approvals, the meeting "
        "page), e.g. https://kollegan.example.com; unset means http://<web host>:<web port>.",
    )
    outbox_url: str | None = Field(
        None,
        description="Where outgoing mail goes: unset means a Maildir in the data dir; "
        "smtp://user:password@host:port (STARTTLS when offered) or smtps://… (TLS).",
    )
    secret_key: str | None = Field(
        None,
        description="Key for signed links and tokens; at least 32 characters. Required outside "
        "the embedded default; embedded, one is made once and kept in the data dir.",
        repr=False,
    )
    mailgun_signing_key: str | None = Field(
        None,
        description="Mailgun HTTP webhook signing key; unset means the Mailgun webhook refuses.",
        repr=False,
    )
    mailgun_max_age: timedelta = Field(
        timedelta(minutes=10),
        description="How far a Mailgun webhook timestamp may be from now (freshness window).",
    )
    max_message_size: int = Field(
        25 * 1024 * 1024,
        ge=1024,
        description="Largest message accepted, in bytes (SMTP SIZE, 552 above; webhook 406).",
    )
    prebrief_lead_time: timedelta = Field(
        timedelta(hours=24),
        description="How long before a meeting the pre-brief is sent (seconds or ISO 8601, "
        "e.g. PT24H); sent at once when the meeting is closer than that.",
    )
    worker_threads: int = Field(2, ge=1, le=64, description="Task worker threads.")
    default_locale: Literal["sv", "en"] = Field(
        "sv", description="Language of mail to people whose language is not known."
    )
    default_timezone: str = Field(
        "Europe/Stockholm", description="Time zone for people whose time zone is not known."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )

    @field_validator("mail_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower().rstrip(".")
        if not value.isascii():
            raise ValueError(f"not an ASCII domain name: {value!r} (write IDNs as xn--…)")
        labels = value.split(".")
        if len(labels) < 2 or len(value) > 253 or not all(map(_LABEL_RE.fullmatch, labels)):
            raise ValueError(f"not a domain name: {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and value.partition("://")[0] not in DATABASE_SCHEMES:
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("mailgun_max_age", "prebrief_lead_time", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        """A plain number is seconds (pydantic reads only ISO 8601 and [-][D ]HH:MM:SS text)."""
        if isinstance(value, str) and _SECONDS_RE.fullmatch(value):
            return float(value)
        return value

    @field_validator("mailgun_max_age")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @field_validator("prebrief_lead_time")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("outbox_url")
    @classmethod
    def _outbox_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("smtp://", "smtps://", "maildir:")):
            raise ValueError("must start with smtp://, smtps:// or maildir:")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.query
            or parts.fragment
            or any(c.isspace() for c in value)
        ):
            raise ValueError(
                "must be an http:// or https:// URL such as https://kollegan.example.com"
            )
        return value

    @field_validator("secret_key", "mailgun_signing_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("secret_key")
    @classmethod
    def _secret_length(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"too short: use at least {MIN_SECRET_LENGTH} random characters")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    # -- derived values -------------------------------------------------------------------------

    @property
    def is_embedded(self) -> bool:
        """True on the one-machine default: SQLite and the SQLite-backed queue."""
        return self.redis_url is None and self.effective_database_url.startswith("sqlite")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kollegan.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Where links point: KOLLEGAN_PUBLIC_URL, or the portal's own address."""
        if self.public_url:
            return self.public_url
        host = self.web_host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - listening everywhere: link to this host
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.web_port}"

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def maildir_path(self) -> Path:
        return self.data_dir / "outbox"


def _env_name(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    return ENV_PREFIX + field.upper()


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and ``.env``); raise :class:`SettingsError` with one clear line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = " ".join(first["msg"].removeprefix("Value error, ").split())
        raise SettingsError(f"{_env_name(first['loc'])}: {message}") from None
    except (OSError, UnicodeDecodeError, SourceError) as exc:  # e.g. a .env that is not UTF-8
        raise SettingsError(
            f".env or environment unreadable: {' '.join(str(exc).split())}"
        ) from None
    return _with_secret_key(settings)


def _with_secret_key(settings: Settings) -> Settings:
    if settings.secret_key:
        return settings
    if not settings.is_embedded:
        raise SettingsError(
            f"{ENV_PREFIX}SECRET_KEY is required with PostgreSQL or Redis: set it to at least "
            f"{MIN_SECRET_LENGTH} random characters (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    return settings.model_copy(update={"secret_key": read_or_make_secret(settings.data_dir)})


def read_or_make_secret(data_dir: Path) -> str:
    """The embedded default's key: made once, kept (mode 0600) in the data dir.

    Processes starting together (intake, worker, portal) all end up with the one key: it is
    written whole to a private file first and then linked into place, which fails for all but
    the first; the others read the winner's key.
    """
    path = data_dir / SECRET_FILE
    value = _read_secret(path)
    if value is None:
        _make_secret(path)
        value = _read_secret(path)
    if value is None or len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"{ENV_PREFIX}SECRET_KEY: {path} holds no key of at least {MIN_SECRET_LENGTH} "
            "characters; put one there, or remove the file to have one made"
        )
    return value


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not ASCII"
        raise SettingsError(f"{ENV_PREFIX}DATA_DIR: cannot read {path}: {reason}") from None


def _make_secret(path: Path) -> None:
    draft = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: its key wins
            os.link(draft, path)
    except OSError as exc:
        raise SettingsError(f"{ENV_PREFIX}DATA_DIR: cannot write {path}: {exc.strerror}") from None
    finally:
        draft.unlink(missing_ok=True)


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting — for ``kollegan config`` and the README."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "" if field.default is None else str(field.default)
        if isinstance(field.default, timedelta):
            default = f"{int(field.default.total_seconds())} s"
        rows.append((ENV_PREFIX + name.upper(), default, field.description or ""))
    return rows
