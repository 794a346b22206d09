"""The store's small repository functions and its UTC column, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from core.errors import NotFoundError
from core.types import InboundStatus
from store import inbound
from store.db import Database
from store.inbound import Envelope
from store.models import InboundMessage, WebhookToken
from tests.conftest import NOW

RAW = b"From: anna@acme.example\r\nMessage-ID: <fika@acme.example>\r\n\r\nHej\r\n"
AGENT = "acme.k3vq7xw2m4pa@kollegan.test"


def store(
    db: Database,
    *,
    raw: bytes = RAW,
    message_id: str | None = "fika@acme.example",
    rcpt_to: str = AGENT,
    now: datetime = NOW,
) -> tuple[int, bool]:
    with db.session() as session:
        return inbound.insert_inbound(
            session,
            raw=raw,
            envelope=Envelope(
                mail_from="anna@acme.example", rcpt_to=rcpt_to, agent_id=None, company_id=None
            ),
            message_id=message_id,
            source="smtp",
            now=now,
        )


def rows(db: Database) -> list[InboundMessage]:
    with db.reader() as session:
        return list(session.execute(select(InboundMessage).order_by(InboundMessage.id)).scalars())


def status_of(db: Database, inbound_id: int) -> str:
    with db.reader() as session:
        return inbound.get_inbound(session, inbound_id).status


# -- insert_inbound: one row per message and recipient --------------------------------------


def test_a_new_message_is_stored_whole(db: Database) -> None:
    inbound_id, is_new = store(db)

    assert is_new
    with db.reader() as session:
        row = inbound.get_inbound(session, inbound_id, with_raw=True)
    assert row.raw == RAW
    assert row.size == len(RAW)
    assert row.sha256 == hashlib.sha256(RAW).hexdigest()
    assert row.message_id == "fika@acme.example"
    assert row.dedupe_key == "mid:fika@acme.example"
    assert row.status == InboundStatus.RECEIVED
    assert row.rule_hits == []
    assert row.attempts == 0
    assert row.received_at == NOW


def test_the_same_message_id_for_the_same_recipient_is_stored_once(db: Database) -> None:
    first_id, first_new = store(db)
    # a retransmission after a lost 250: different Received lines, the same Message-ID
    second_id, second_new = store(db, raw=b"Received: from relay2\r\n" + RAW)

    assert (first_new, second_new) == (True, False)
    assert second_id == first_id
    assert len(rows(db)) == 1


def test_the_same_message_for_another_recipient_is_a_second_row(db: Database) -> None:
    first_id, _ = store(db, rcpt_to=AGENT)
    second_id, is_new = store(db, rcpt_to="beta.m4pak3vq7xw2@kollegan.test")

    assert is_new
    assert second_id != first_id
    assert [row.rcpt_to for row in rows(db)] == [AGENT, "beta.m4pak3vq7xw2@kollegan.test"]


def test_without_message_id_the_bytes_decide(db: Database) -> None:
    other = RAW.replace(b"Hej", b"Hej igen")
    first_id, _ = store(db, message_id=None)
    again_id, again_new = store(db, message_id=None)
    other_id, other_new = store(db, raw=other, message_id=None)

    assert (again_id, again_new) == (first_id, False)
    assert other_new
    assert other_id != first_id
    assert [row.dedupe_key for row in rows(db)] == [
        "sha256:" + hashlib.sha256(RAW).hexdigest(),
        "sha256:" + hashlib.sha256(other).hexdigest(),
    ]


def test_a_message_id_and_no_message_id_are_never_the_same_key() -> None:
    digest = hashlib.sha256(RAW).hexdigest()
    assert inbound.dedupe_key(None, RAW) == "sha256:" + digest
    assert inbound.dedupe_key("", RAW) == "sha256:" + digest
    assert inbound.dedupe_key(digest, RAW) != inbound.dedupe_key(None, RAW)


# -- the worker's claim, failure and retry --------------------------------------------------


def test_lock_for_processing_gives_a_waiting_row_with_its_bytes(db: Database) -> None:
    inbound_id, _ = store(db)
    with db.session() as session:
        row = inbound.lock_for_processing(session, inbound_id)
        assert row is not None
        assert row.raw == RAW


def test_lock_for_processing_gives_none_once_processed(db: Database) -> None:
    inbound_id, _ = store(db)
    with db.session() as session:
        row = inbound.lock_for_processing(session, inbound_id)
        assert row is not None
        inbound.record_outcome(
            row, status=InboundStatus.PROCESSED, now=NOW, rule_hits=[], command="invite"
        )

    with db.session() as session:
        assert inbound.lock_for_processing(session, inbound_id) is None
    with db.reader() as session:
        row = inbound.get_inbound(session, inbound_id)
        assert (row.status, row.command, row.attempts) == ("processed", "invite", 1)
        assert row.processed_at == NOW


def test_lock_for_processing_of_an_unknown_id_gives_none(db: Database) -> None:
    with db.session() as session:
        assert inbound.lock_for_processing(session, 424242) is None


def test_a_failed_message_keeps_its_error_and_is_not_claimed(db: Database) -> None:
    inbound_id, _ = store(db)
    with db.session() as session:
        inbound.mark_failed(session, inbound_id, "boom " * 2000, NOW)

    with db.session() as session:
        assert inbound.lock_for_processing(session, inbound_id) is None
    with db.reader() as session:
        row = inbound.get_inbound(session, inbound_id)
        assert row.status == InboundStatus.FAILED
        assert row.error is not None
        assert len(row.error) == 4000
        assert row.attempts == 1


@pytest.mark.parametrize(
    "status", [InboundStatus.FAILED, InboundStatus.HELD, InboundStatus.REJECTED]
)
def test_reset_for_retry_puts_a_parked_message_back_in_line(
    db: Database, status: InboundStatus
) -> None:
    inbound_id, _ = store(db)
    with db.session() as session:
        row = inbound.lock_for_processing(session, inbound_id)
        assert row is not None
        inbound.record_outcome(row, status=status, now=NOW, reason="why", rule_hits=["bounce"])
        row.error = "an error"

    with db.session() as session:
        inbound.reset_for_retry(session, inbound_id)

    with db.session() as session:
        row = inbound.lock_for_processing(session, inbound_id)
        assert row is not None
        assert (row.status, row.error, row.reason) == ("received", None, None)
        assert row.attempts == 1  # the history of attempts is kept


def test_reset_for_retry_leaves_a_processed_message_processed(db: Database) -> None:
    inbound_id, _ = store(db)
    with db.session() as session:
        row = inbound.lock_for_processing(session, inbound_id)
        assert row is not None
        inbound.record_outcome(row, status=InboundStatus.PROCESSED, now=NOW)

    with db.session() as session:
        assert inbound.reset_for_retry(session, inbound_id).status == InboundStatus.PROCESSED
    assert status_of(db, inbound_id) == InboundStatus.PROCESSED


def test_reset_for_retry_of_an_unknown_id_is_not_found(db: Database) -> None:
    with db.session() as session, pytest.raises(NotFoundError):
        inbound.reset_for_retry(session, 424242)


def test_waiting_ids_are_the_received_ones_stored_before_the_cut_off(db: Database) -> None:
    old_id, _ = store(db, message_id="old@x", now=NOW - timedelta(minutes=10))
    done_id, _ = store(db, message_id="done@x", now=NOW - timedelta(minutes=10))
    store(db, message_id="new@x", now=NOW)
    with db.session() as session:
        inbound.mark_failed(session, done_id, "x", NOW)

    stockholm = (NOW - timedelta(minutes=5)).astimezone(ZoneInfo("Europe/Stockholm"))
    with db.reader() as session:
        assert inbound.waiting_ids(session, older_than=stockholm) == [old_id]
        assert inbound.count_by_status(session) == {"received": 2, "failed": 1}


# -- webhook tokens -------------------------------------------------------------------------


def test_a_webhook_token_seen_before_is_a_replay(db: Database) -> None:
    with db.session() as session:
        assert inbound.remember_webhook_token(session, "token-1", NOW)
    with db.session() as session:
        assert not inbound.remember_webhook_token(session, "token-1", NOW + timedelta(seconds=1))
        assert inbound.remember_webhook_token(session, "token-2", NOW)


def test_forgotten_webhook_tokens_are_only_the_old_ones(db: Database) -> None:
    with db.session() as session:
        inbound.remember_webhook_token(session, "old", NOW - timedelta(hours=1))
        inbound.remember_webhook_token(session, "fresh", NOW)
    with db.session() as session:
        assert inbound.forget_webhook_tokens(session, before=NOW - timedelta(minutes=10)) == 1
    with db.session() as session:
        assert not inbound.remember_webhook_token(session, "fresh", NOW)
        assert inbound.remember_webhook_token(session, "old", NOW)


# -- UTCDateTime ----------------------------------------------------------------------------

aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2999, 12, 30),
    timezones=st.one_of(
        st.just(UTC),
        st.timezones(),
        st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moment=aware_datetimes)
def test_utc_datetime_gives_back_the_same_instant_in_utc(db: Database, moment: datetime) -> None:
    token = uuid.uuid4().hex
    with db.session() as session:
        session.add(WebhookToken(token=token, seen_at=moment))
    with db.session() as session:
        if not db.is_sqlite:  # make the server answer in a zone other than UTC
            session.execute(text("SET LOCAL TIME ZONE 'America/St_Johns'"))
        seen_at = session.execute(
            select(WebhookToken.seen_at).where(WebhookToken.token == token)
        ).scalar_one()
    # the same instant as UTC: compared directly, a local time in a DST gap (Buenos Aires,
    # 1988-12-01 00:00) is never equal to any time in another zone (PEP 495)
    assert seen_at == moment.astimezone(UTC)
    assert seen_at.utcoffset() == timedelta(0)
    assert seen_at.tzinfo is UTC


def test_utc_datetime_compares_instants_not_wall_clocks(db: Database) -> None:
    with db.session() as session:
        session.add(WebhookToken(token="t", seen_at=NOW))
    in_stockholm = NOW.astimezone(ZoneInfo("Europe/Stockholm"))  # 09:00 there
    with db.reader() as session:
        found = session.execute(
            select(WebhookToken.token).where(WebhookToken.seen_at == in_stockholm)
        ).scalar_one_or_none()
    assert found == "t"


def test_utc_datetime_refuses_a_naive_datetime(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        session.add(WebhookToken(token="naive", seen_at=datetime(2026, 11, 25, 8, 0)))
    with db.reader() as session:
        assert session.get(WebhookToken, "naive") is None
