"""Approvals: held messages from untrusted senders, waiting for (or decided by) an admin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError
from core.types import ApprovalStatus
from store.models import Approval


def get_approval(session: Session, approval_id: int, *, lock: bool = False) -> Approval:
    query = select(Approval).where(Approval.id == approval_id)
    if lock:
        query = query.with_for_update()
    approval = session.execute(query).scalar_one_or_none()
    if approval is None:
        raise NotFoundError(f"no approval {approval_id}")
    return approval


def find_for_inbound(session: Session, inbound_id: int) -> Approval | None:
    return session.execute(
        select(Approval).where(Approval.inbound_id == inbound_id)
    ).scalar_one_or_none()


def find_pending_lead(
    session: Session, company_id: int, sender: str, topic: str
) -> Approval | None:
    """The pending request already mailed for this sender and topic, if any."""
    return (
        session.execute(
            select(Approval)
            .where(
                Approval.company_id == company_id,
                Approval.sender == sender,
                Approval.topic == topic,
                Approval.status == ApprovalStatus.PENDING,
                Approval.lead_id.is_(None),
            )
            .order_by(Approval.id)
            .limit(1)
        )
        .scalars()
        .first()
    )


def find_decided(session: Session, company_id: int, sender: str, topic: str) -> Approval | None:
    """The latest decision an admin made for this sender and topic, if any."""
    return (
        session.execute(
            select(Approval)
            .where(
                Approval.company_id == company_id,
                Approval.sender == sender,
                Approval.topic == topic,
                Approval.status != ApprovalStatus.PENDING,
            )
            .order_by(Approval.decided_at.desc(), Approval.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def add_approval(
    session: Session,
    *,
    company_id: int,
    inbound_id: int,
    sender: str,
    topic: str,
    lead_id: int | None,
    now: datetime,
) -> Approval:
    approval = Approval(
        company_id=company_id,
        inbound_id=inbound_id,
        lead_id=lead_id,
        sender=sender,
        topic=topic,
        status=ApprovalStatus.PENDING.value,
        created_at=now,
    )
    session.add(approval)
    session.flush()
    return approval


def pending_group(session: Session, lead: Approval) -> Sequence[Approval]:
    """The lead and its pending followers, oldest first (the order their messages came in)."""
    return (
        session.execute(
            select(Approval)
            .where(
                or_(Approval.id == lead.id, Approval.lead_id == lead.id),
                Approval.status == ApprovalStatus.PENDING,
            )
            .order_by(Approval.inbound_id)
        )
        .scalars()
        .all()
    )


def list_approvals(
    session: Session, *, status: str | None = None, limit: int = 200
) -> Sequence[Approval]:
    query = select(Approval).order_by(Approval.id.desc()).limit(limit)
    if status:
        query = query.where(Approval.status == status)
    return session.execute(query).scalars().all()
