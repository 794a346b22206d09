"""Alembic migrations (Mailman's habit): every revision down and up again, and no drift.

Each test gets a fresh, empty database — a SQLite file, or a uniquely named PostgreSQL
database made for the test and dropped after it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from store import migrate
from store.db import Database
from store.models import Base
from tests.conftest import PG_URL, unavailable

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
        return
    name = f"kollegan_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    db = Database(PG_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def revisions_base_to_head(db: Database) -> list[Script]:
    scripts = ScriptDirectory.from_config(migrate.alembic_config(db))
    return list(reversed(list(scripts.walk_revisions("base", "heads"))))


def schema(db: Database) -> dict[str, Any]:
    """Tables with their columns, indexes, unique constraints and foreign keys, comparable."""
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        return {
            table: {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
                ],
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"] or "", tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(table)
                ),
            }
            for table in sorted(inspector.get_table_names())
            if table != "alembic_version"
        }


def test_the_history_is_one_line_from_base_to_a_single_head(empty_db: Database) -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config(empty_db))
    assert len(scripts.get_heads()) == 1
    revisions = revisions_base_to_head(empty_db)
    assert revisions[0].down_revision is None
    for earlier, later in itertools.pairwise(revisions):
        assert later.down_revision == earlier.revision


def test_every_revision_goes_down_and_up_again(empty_db: Database) -> None:
    before = schema(empty_db)
    assert before == {}
    for script in revisions_base_to_head(empty_db):
        migrate.upgrade(empty_db, script.revision)
        assert migrate.current_revision(empty_db) == script.revision
        after = schema(empty_db)
        assert after != before, f"{script.revision} changes nothing"

        migrate.downgrade(empty_db, script.down_revision or "base")  # type: ignore[arg-type]
        assert migrate.current_revision(empty_db) == script.down_revision
        assert schema(empty_db) == before, f"{script.revision} does not downgrade cleanly"

        migrate.upgrade(empty_db, script.revision)
        assert schema(empty_db) == after, f"{script.revision} differs after down and up"
        before = after
    assert migrate.is_at_head(empty_db)


def test_downgrading_all_the_way_leaves_no_table_behind(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    migrate.downgrade(empty_db, "base")
    assert schema(empty_db) == {}
    assert migrate.current_revision(empty_db) is None


def test_the_migrated_schema_matches_the_models(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    with empty_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        drift = compare_metadata(context, Base.metadata)
    assert drift == []


def test_upgrading_twice_changes_nothing(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    once = schema(empty_db)
    migrate.upgrade(empty_db)
    assert schema(empty_db) == once
    assert migrate.is_at_head(empty_db)
