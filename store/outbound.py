"""Outbound messages: planned, claimed when due, handed to the relay, marked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, undefer

from core.errors import NotFoundError
from core.types import OutboundStatus
from store.models import OutboundMessage


def find_outbound(session: Session, dedupe_key: str) -> OutboundMessage | None:
    return session.execute(
        select(OutboundMessage).where(OutboundMessage.dedupe_key == dedupe_key)
    ).scalar_one_or_none()


def get_outbound(session: Session, outbound_id: int, *, with_raw: bool = False) -> OutboundMessage:
    query = select(OutboundMessage).where(OutboundMessage.id == outbound_id)
    if with_raw:
        query = query.options(undefer(OutboundMessage.raw))
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no outbound message {outbound_id}")
    return row


def list_outbound(
    session: Session, *, kind: str | None = None, status: str | None = None, limit: int = 200
) -> Sequence[OutboundMessage]:
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
    if kind:
        query = query.where(OutboundMessage.kind == kind)
    if status:
        query = query.where(OutboundMessage.status == status)
    return session.execute(query).scalars().all()


def list_for_meeting(session: Session, meeting_id: int) -> Sequence[OutboundMessage]:
    return (
        session.execute(
            select(OutboundMessage)
            .where(OutboundMessage.meeting_id == meeting_id)
            .order_by(OutboundMessage.id)
        )
        .scalars()
        .all()
    )


def due_ids(session: Session, now: datetime, *, limit: int = 500) -> list[int]:
    return list(
        session.execute(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.status == OutboundStatus.SCHEDULED,
                OutboundMessage.send_at <= now,
            )
            .order_by(OutboundMessage.send_at)
            .limit(limit)
        ).scalars()
    )


def claim_due(session: Session, outbound_id: int, now: datetime) -> OutboundMessage | None:
    """Take a due, scheduled message for sending (one worker wins); None otherwise."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id == outbound_id,
            OutboundMessage.status == OutboundStatus.SCHEDULED,
            OutboundMessage.send_at <= now,
        )
        .values(status=OutboundStatus.SENDING.value, claimed_at=now, updated_at=now)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return get_outbound(session, outbound_id, with_raw=True)


def release_stale_claims(session: Session, *, claimed_before: datetime, now: datetime) -> int:
    """Claims older than the lease belong to a worker that died: schedule them again."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.status == OutboundStatus.SENDING,
            OutboundMessage.claimed_at < claimed_before,
        )
        .values(status=OutboundStatus.SCHEDULED.value, claimed_at=None, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def cancel_scheduled_for(session: Session, meeting_ids: Sequence[int], now: datetime) -> int:
    """Cancel every mail about these meetings not yet sent; how many were cancelled."""
    if not meeting_ids:
        return 0
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.meeting_id.in_(list(meeting_ids)),
            OutboundMessage.status == OutboundStatus.SCHEDULED,
        )
        .values(status=OutboundStatus.CANCELLED.value, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
