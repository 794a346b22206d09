"""Inbound messages: stored once per (message, recipient), then claimed by the worker."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, undefer

from core.errors import NotFoundError
from core.types import InboundStatus
from store.models import InboundMessage, WebhookToken


@dataclass(frozen=True, slots=True)
class Envelope:
    mail_from: str
    rcpt_to: str
    agent_id: int | None
    company_id: int | None


def dedupe_key(message_id: str | None, raw: bytes) -> str:
    """Same Message-ID (or, without one, same bytes) and recipient → the same message."""
    if message_id:
        return "mid:" + message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class NewInbound:
    """One message for one recipient, to be stored."""

    raw: bytes
    envelope: Envelope
    message_id: str | None
    source: str


def insert_inbound(
    session: Session,
    *,
    raw: bytes,
    envelope: Envelope,
    message_id: str | None,
    source: str,
    now: datetime,
) -> tuple[int, bool]:
    """Store the message unless it is already stored; return (id, newly stored)."""
    [result] = insert_inbound_many(session, [NewInbound(raw, envelope, message_id, source)], now)
    return result


def insert_inbound_many(
    session: Session, rows: Sequence[NewInbound], now: datetime
) -> list[tuple[int, bool]]:
    """Store each message unless it is already stored, all in one statement; return
    (id, newly stored) for each, in order. The same message twice in ``rows`` is stored once."""
    if not rows:
        return []
    values = [_values(row, now) for row in rows]
    statement = _insert_statement(session.get_bind().dialect.name)
    inserted = {(r.dedupe_key, r.rcpt_to): int(r.id) for r in session.execute(statement, values)}
    results = []
    for value in values:
        key = (value["dedupe_key"], value["rcpt_to"])
        new_id = inserted.pop(key, None)
        if new_id is not None:
            results.append((new_id, True))
            continue
        existing = session.execute(
            select(InboundMessage.id).where(
                InboundMessage.dedupe_key == key[0], InboundMessage.rcpt_to == key[1]
            )
        ).scalar_one()
        results.append((int(existing), False))
    return results


def _values(row: NewInbound, now: datetime) -> dict[str, Any]:
    return {
        "received_at": now,
        "source": row.source,
        "mail_from": row.envelope.mail_from,
        "rcpt_to": row.envelope.rcpt_to,
        "message_id": row.message_id,
        "dedupe_key": dedupe_key(row.message_id, row.raw),
        "sha256": hashlib.sha256(row.raw).hexdigest(),
        "size": len(row.raw),
        "raw": row.raw,
        "agent_id": row.envelope.agent_id,
        "company_id": row.envelope.company_id,
        "status": InboundStatus.RECEIVED.value,
        "rule_hits": [],
        "attempts": 0,
    }


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id, dedupe_key, rcpt_to``, built once per
    dialect and given its rows at execution (one row, or many in one statement).

    Built once, it is compiled once too: building it anew for each message
    (``.values(**values)``) cost more than the rest of the SMTP intake.
    """
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, InboundMessage.__table__)
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key", "rcpt_to"])
        .returning(table.c.id, table.c.dedupe_key, table.c.rcpt_to)
    )


def lock_for_processing(session: Session, inbound_id: int) -> InboundMessage | None:
    """The row, locked, if it still waits for processing; None when done or gone."""
    row = session.execute(
        select(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .options(undefer(InboundMessage.raw))
        .with_for_update()
    ).scalar_one_or_none()
    if row is None or row.status != InboundStatus.RECEIVED:
        return None
    return row


def record_outcome(
    row: InboundMessage,
    *,
    status: InboundStatus,
    now: datetime,
    reason: str | None = None,
    rule_hits: Sequence[str] = (),
    command: str | None = None,
    sender: str | None = None,
    sender_trusted: bool | None = None,
) -> None:
    row.status = status.value
    row.reason = reason
    row.rule_hits = list(rule_hits)
    row.command = command
    row.sender = sender
    row.sender_trusted = sender_trusted
    row.error = None
    row.attempts += 1
    row.processed_at = now


def mark_failed(session: Session, inbound_id: int, error: str, now: datetime) -> None:
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(
            status=InboundStatus.FAILED.value,
            error=error[:4000],
            attempts=InboundMessage.attempts + 1,
            processed_at=now,
        )
    )


def reset_for_retry(session: Session, inbound_id: int) -> InboundMessage:
    """Put a failed, held or rejected message back in line; a processed one stays processed."""
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFoundError(f"no inbound message {inbound_id}")
    if row.status == InboundStatus.PROCESSED:
        return row
    row.status = InboundStatus.RECEIVED.value
    row.error = None
    row.reason = None
    return row


def waiting_ids(session: Session, *, older_than: datetime, limit: int = 1000) -> list[int]:
    """Messages stored before ``older_than`` and still waiting: their queue entry may be lost."""
    return list(
        session.execute(
            select(InboundMessage.id)
            .where(
                InboundMessage.status == InboundStatus.RECEIVED,
                InboundMessage.received_at <= older_than,
            )
            .order_by(InboundMessage.id)
            .limit(limit)
        ).scalars()
    )


def get_inbound(session: Session, inbound_id: int, *, with_raw: bool = False) -> InboundMessage:
    query = select(InboundMessage).where(InboundMessage.id == inbound_id)
    if with_raw:
        query = query.options(undefer(InboundMessage.raw))
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no inbound message {inbound_id}")
    return row


def list_inbound(
    session: Session, *, status: str | None = None, limit: int = 100
) -> Sequence[InboundMessage]:
    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if status:
        query = query.where(InboundMessage.status == status)
    return session.execute(query).scalars().all()


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
    ).all()
    return {status: count for status, count in rows}


def remember_webhook_token(session: Session, token: str, now: datetime) -> bool:
    """Record a webhook token; False when it was used before (a replay)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(WebhookToken)
        .values(token=token, seen_at=now)
        .on_conflict_do_nothing(index_elements=["token"])
        .returning(WebhookToken.token)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def forget_webhook_tokens(session: Session, *, before: datetime) -> int:
    """Tokens older than the freshness window can go: their timestamps are refused anyway."""
    result = session.execute(delete(WebhookToken).where(WebhookToken.seen_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
