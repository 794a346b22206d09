"""The worker: failures are kept and re-runnable, lost queue entries are swept up, and a real
Huey consumer (SQLite queue and Redis) carries a message through the pipeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from huey import MemoryHuey
from sqlalchemy.orm import Session

from core.clock import FixedClock
from core.types import InboundStatus, Source
from inbox.addressing import ResolvedRecipient
from inbox.ingest import Accepted, accept
from inbox.process import CommandResult, Delivery
from inbox.route import INVITATION
from kollegan.app import App, build_app
from kollegan.samples import sample_invitation
from kollegan.serve import EmbeddedConsumer
from scheduler.queue import make_huey
from scheduler.tasks import run_process_inbound, run_sweep
from store import inbound, meetings, outbound
from store.db import Database
from tests.conftest import NOW, make_settings
from tests.support import create_company, maildir_messages


def _store(app: App, address: str, raw: bytes) -> int:
    resolved = app.resolver.resolve(address)
    assert isinstance(resolved, ResolvedRecipient)
    stored = accept(
        app.db,
        raw,
        mail_from="anna@acme.example",
        recipients=[resolved],
        source=Source.CLI,
        now=app.clock.now,
    )
    return stored.ids[0]


def _invitation(address: str, uid: str = "w-1@acme.example") -> bytes:
    return sample_invitation(
        to=address,
        organizer="anna@acme.example",
        organizer_name="Anna Berg",
        attendees=[("erik@acme.example", "Erik")],
        title="Veckomöte",
        start=NOW + timedelta(hours=3),
        uid=uid,
        message_id=f"<{uid}>",
        now=NOW,
    )


def _status(app: App, inbound_id: int) -> Any:
    with app.db.reader() as session:
        return inbound.get_inbound(session, inbound_id)


@pytest.fixture
def lazy_app(settings: Any, clock: FixedClock) -> Iterator[App]:
    """An app whose queue only collects tasks (nothing runs until the test says so)."""
    application = build_app(settings, clock=clock, huey=MemoryHuey())
    yield application
    application.close()


def test_a_failing_command_keeps_the_message_with_its_error(lazy_app: App) -> None:
    address = create_company(lazy_app)
    inbound_id = _store(lazy_app, address, _invitation(address))
    calls: list[int] = []

    def broken(session: Session, delivery: Delivery) -> CommandResult:
        calls.append(delivery.inbound.id)
        raise RuntimeError("calendar service exploded")

    failing = replace(lazy_app.tasks.ctx, commands={INVITATION: broken})
    run_process_inbound(failing, inbound_id)
    row = _status(lazy_app, inbound_id)
    assert row.status == InboundStatus.FAILED
    assert row.error == "RuntimeError: calendar service exploded"
    with lazy_app.db.reader() as session:
        assert meetings.list_meetings(session) == []  # the half-done work was rolled back

    # fixed, then re-run with one command: processed, once
    with lazy_app.db.session() as session:
        inbound.reset_for_retry(session, inbound_id)
    run_process_inbound(lazy_app.tasks.ctx, inbound_id)
    run_process_inbound(lazy_app.tasks.ctx, inbound_id)  # a duplicate queue entry: no effect
    row = _status(lazy_app, inbound_id)
    assert row.status == InboundStatus.PROCESSED
    assert row.error is None
    assert calls == [inbound_id]  # the healthy command ran, the broken one only once
    with lazy_app.db.reader() as session:
        assert len(meetings.list_meetings(session)) == 1


def test_the_sweep_finds_messages_whose_queue_entry_was_lost(lazy_app: App) -> None:
    address = create_company(lazy_app)
    inbound_id = _store(lazy_app, address, _invitation(address))
    lazy_app.tasks.huey.flush()  # the queue entry is lost
    assert run_sweep(lazy_app.tasks.ctx) == []  # too young: it may still be queued
    clock = lazy_app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=1))
    assert run_sweep(lazy_app.tasks.ctx) == [inbound_id]
    assert lazy_app.tasks.recover() == 1  # at start-up, no grace
    assert lazy_app.tasks.huey.pending_count() >= 1


def test_an_unparseable_message_is_rejected_with_a_reason(lazy_app: App) -> None:
    address = create_company(lazy_app)
    inbound_id = _store(lazy_app, address, b"\x00\xff not mail at all")
    run_process_inbound(lazy_app.tasks.ctx, inbound_id)
    row = _status(lazy_app, inbound_id)
    assert row.status in (InboundStatus.REJECTED, InboundStatus.HELD)
    assert row.reason


def _run_consumer(app: App, stored: list[int], timeout: float = 30.0) -> None:
    consumer = EmbeddedConsumer(
        app.tasks.huey,
        workers=2,
        worker_type="thread",
        periodic=False,
        initial_delay=0.01,
        max_delay=0.2,
    )
    consumer.start()
    try:
        app.on_stored(Accepted(tuple(stored), tuple(stored)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with app.db.reader() as session:
                sent = outbound.list_outbound(session, status="sent")
            if len(sent) == 2 * len(stored):  # a pre-brief and the agent's acceptance each
                return
            time.sleep(0.05)
        raise AssertionError("the consumer did not finish in time")
    finally:
        consumer.stop(graceful=True)


def _pipeline_through(app: App) -> None:
    address = create_company(app)
    stored = [_store(app, address, _invitation(address, f"q-{i}@acme.example")) for i in range(5)]
    _run_consumer(app, stored)
    with app.db.reader() as session:
        assert {r.status for r in inbound.list_inbound(session)} == {InboundStatus.PROCESSED}
        assert len(meetings.list_meetings(session)) == 5
    assert len(maildir_messages(app.settings.maildir_path)) == 10


@pytest.mark.integration
def test_sqlite_queue_consumer_runs_the_pipeline(
    tmp_path: Path, clock: FixedClock, sqlite_db: Database
) -> None:
    settings = make_settings(tmp_path, sqlite_db)
    app = build_app(settings, clock=clock)  # the embedded default: SQLite-backed Huey
    assert type(app.tasks.huey).__name__ == "SqliteHuey"
    try:
        _pipeline_through(app)
    finally:
        app.close()


@pytest.mark.integration
def test_redis_queue_consumer_runs_the_pipeline(
    tmp_path: Path, clock: FixedClock, db: Database, redis_url: str, redis_queue_name: str
) -> None:
    settings = make_settings(tmp_path, db, redis_url=redis_url)
    huey = make_huey(redis_url=redis_url, queue_path=Path("unused"), name=redis_queue_name)
    app = build_app(settings, clock=clock, huey=huey)
    assert type(app.tasks.huey).__name__ == "RedisHuey"
    try:
        _pipeline_through(app)
    finally:
        app.close()
