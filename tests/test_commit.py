"""Group commit: many messages in one transaction, each caller told only after the commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.errors import StoreUnavailableError
from core.types import Source
from inbox.addressing import ResolvedRecipient
from inbox.commit import GroupCommit
from inbox.ingest import Accepted, Incoming, accept_many
from store import inbound
from store.db import Database


def message(n: int, recipient: ResolvedRecipient, message_id: str | None = None) -> Incoming:
    mid = message_id or f"<m{n}@acme.example>"
    raw = f"From: anna@acme.example\r\nMessage-ID: {mid}\r\nSubject: {n}\r\n\r\nHej {n}\r\n"
    return Incoming(raw.encode(), "anna@acme.example", (recipient,), Source.SMTP)


@pytest.fixture
def recipient(app: Any, acme: str) -> ResolvedRecipient:
    resolved = app.resolver.resolve(acme)
    assert resolved is not None
    return resolved  # type: ignore[no-any-return]


def commits(db: Database) -> list[int]:
    counter: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: counter.append(1))
    return counter


def test_accept_many_stores_each_once_in_one_commit(app: Any, recipient: ResolvedRecipient) -> None:
    counted = commits(app.db)
    batch = [message(1, recipient), message(2, recipient), message(1, recipient)]
    first, second, again = accept_many(app.db, batch, now=app.clock.now)
    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert isinstance(again, Accepted)
    assert first.new_ids == first.ids
    assert second.new_ids == second.ids
    assert again.ids == first.ids  # the same message twice in one batch: stored once
    assert again.new_ids == ()
    assert len(counted) == 1
    with app.db.reader() as session:
        assert len(inbound.list_inbound(session)) == 2


def test_a_message_that_cannot_be_stored_fails_alone(
    app: Any, recipient: ResolvedRecipient
) -> None:
    nowhere = ResolvedRecipient(recipient.address, recipient.recipient, 999_999, 999_999)
    batch = [message(1, recipient), message(2, nowhere), message(3, recipient)]
    outcomes = accept_many(app.db, batch, now=app.clock.now)
    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[1], Exception)  # no such agent or company: a foreign key
    assert isinstance(outcomes[2], Accepted)
    with app.db.reader() as session:
        assert len(inbound.list_inbound(session)) == 2


class _GatedDatabase(Database):
    """Its first write transaction waits at the gate (so the others queue up behind it)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self._first = True

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self._first:
            self._first = False
            self.entered.set()
            assert self.gate.wait(30)
        with super().session() as session:
            yield session


def test_messages_that_arrive_during_a_commit_share_the_next(
    app: Any, recipient: ResolvedRecipient
) -> None:
    db = _GatedDatabase(app.db.url.render_as_string(hide_password=False))
    counted = commits(db)
    handed_over: list[Accepted] = []
    committer = GroupCommit(db, now=app.clock.now, on_stored=handed_over.extend)

    async def burst() -> list[Accepted]:
        first = asyncio.create_task(committer.store(message(0, recipient)))
        await asyncio.get_running_loop().run_in_executor(None, db.entered.wait, 30)
        rest = [asyncio.create_task(committer.store(message(n, recipient))) for n in range(1, 50)]
        await asyncio.sleep(0)  # let every store() queue its message
        db.gate.set()
        return await asyncio.gather(first, *rest)

    try:
        results = asyncio.run(burst())
    finally:
        committer.close()
        db.dispose()
    ids = [r.ids[0] for r in results]
    assert len(set(ids)) == 50
    assert len(counted) == 2  # the first alone, the 49 that queued behind it together
    assert sorted(i for a in handed_over for i in a.new_ids) == sorted(ids)


class _DownDatabase(Database):
    @contextmanager
    def session(self) -> Iterator[Session]:
        raise StoreUnavailableError("database unavailable: connection refused")
        yield  # pragma: no cover


def test_store_unavailable_reaches_every_caller(app: Any, recipient: ResolvedRecipient) -> None:
    db = _DownDatabase(app.db.url.render_as_string(hide_password=False))
    handed_over: list[Accepted] = []
    committer = GroupCommit(db, now=app.clock.now, on_stored=handed_over.extend)

    async def burst() -> list[Any]:
        stores = [committer.store(message(n, recipient)) for n in range(5)]
        return await asyncio.gather(*stores, return_exceptions=True)

    try:
        outcomes = asyncio.run(burst())
    finally:
        committer.close()
        db.dispose()
    assert all(isinstance(o, StoreUnavailableError) for o in outcomes)
    assert handed_over == []


def test_close_stops_the_writer_and_a_new_store_starts_it_again(
    app: Any, recipient: ResolvedRecipient
) -> None:
    committer = GroupCommit(app.db, now=app.clock.now, on_stored=lambda _stored: None)
    first = asyncio.run(committer.store(message(1, recipient)))
    committer.close()
    assert not [t for t in threading.enumerate() if t.name == "kollegan-group-commit"]
    second = asyncio.run(committer.store(message(2, recipient)))
    committer.close()
    assert first.ids != second.ids
