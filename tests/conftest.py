"""Shared fixtures: databases (SQLite and PostgreSQL), Redis, settings, a fixed clock, an app.

PostgreSQL and Redis are real servers (127.0.0.1:5432 and :6379 unless
KOLLEGAN_TEST_POSTGRES_URL / KOLLEGAN_TEST_REDIS_URL say otherwise). Locally a test that needs
one is skipped when it is down; with CI=true it fails instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.clock import FixedClock
from core.settings import Settings
from store import migrate
from store.db import Database
from store.models import Base

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get(
    "KOLLEGAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("KOLLEGAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_TEST_DATABASE = f"kollegan_test_{os.getpid()}"  # concurrent runs do not meet
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # a Wednesday
MAIL_DOMAIN = "kollegan.test"
SECRET = "test-secret-key-0123456789abcdef-0123456789"


def unavailable(what: str, why: object) -> None:
    """Skip locally, fail in CI: a missing PostgreSQL or Redis must never pass silently there."""
    message = f"{what} is unreachable: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: PostgreSQL and Redis are required)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's KOLLEGAN_* variable or .env reaches a test."""
    for name in list(os.environ):
        if name.startswith("KOLLEGAN_") and not name.startswith("KOLLEGAN_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


# -- databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is enough)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database (``kollegan_test_<pid>``) on the PostgreSQL server, migrated to head."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {PG_TEST_DATABASE}"))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    url = PG_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DATABASE
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DATABASE} WITH (FORCE)"))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "kollegan.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    _truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_db" if request.param == "sqlite" else "postgres_db"
    database: Database = request.getfixturevalue(name)
    return database


# -- Redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        unavailable("Redis", exc)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_queue_name(redis_url: str) -> Iterator[str]:
    import redis

    name = f"kollegan-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"huey.*{name}*"):
        client.delete(key)
    client.close()


# -- settings and the app -------------------------------------------------------------------


def make_settings(data_dir: Path, db: Database | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "mail_domain": MAIL_DOMAIN,
        "secret_key": SECRET,
    }
    if db is not None:
        values["database_url"] = db.url.render_as_string(hide_password=False)
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, db: Database) -> Settings:
    return make_settings(tmp_path, db)


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[Any]:
    """The whole app with an immediate (in-process, synchronous) queue."""
    from huey import MemoryHuey

    from kollegan.app import build_app

    application = build_app(settings, clock=clock, huey=MemoryHuey(immediate=True))
    yield application
    application.close()


@pytest.fixture
def acme(app: Any) -> str:
    """A company (Acme AB, acme.example, admin anna@acme.example); its magic address."""
    from tests.support import create_company

    return create_company(app)


def corpus_dir() -> Path:
    """``../shared/corpus`` beside the checkout (CI has it there), or KOLLEGAN_TEST_CORPUS.

    Read in place, never copied. Checked once at collection: without it the conformance
    tests would test nothing, so they fail rather than skip."""
    configured = os.environ.get("KOLLEGAN_TEST_CORPUS")
    return (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )


CORPUS = corpus_dir()


@pytest.fixture(scope="session", autouse=True)
def _corpus_present() -> None:
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.fail(
            f"the shared test corpus is not at {CORPUS}: clone beside ../shared or set "
            "KOLLEGAN_TEST_CORPUS",
            pytrace=False,
        )
