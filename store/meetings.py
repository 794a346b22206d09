"""Meetings and their attendees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.errors import NotFoundError
from store.models import Attendee, Meeting


def find_meeting(
    session: Session, company_id: int, uid: str, recurrence_id: str = ""
) -> Meeting | None:
    return session.execute(
        select(Meeting)
        .where(
            Meeting.company_id == company_id,
            Meeting.uid == uid,
            Meeting.recurrence_id == recurrence_id,
        )
        .options(selectinload(Meeting.attendees))
    ).scalar_one_or_none()


def get_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.execute(
        select(Meeting).where(Meeting.id == meeting_id).options(selectinload(Meeting.attendees))
    ).scalar_one_or_none()
    if meeting is None:
        raise NotFoundError(f"no meeting {meeting_id}")
    return meeting


def list_meetings(
    session: Session,
    *,
    company_id: int | None = None,
    starting_after: datetime | None = None,
    limit: int = 200,
) -> Sequence[Meeting]:
    query = (
        select(Meeting)
        .order_by(Meeting.start, Meeting.id)
        .limit(limit)
        .options(selectinload(Meeting.attendees))
    )
    if company_id is not None:
        query = query.where(Meeting.company_id == company_id)
    if starting_after is not None:
        query = query.where(Meeting.start >= starting_after)
    return session.execute(query).scalars().all()


def set_attendees(meeting: Meeting, attendees: Sequence[tuple[str, str | None, str, str]]) -> None:
    """Replace the attendee list, keeping rows (and their ids) for addresses that stay."""
    by_email = {a.email: a for a in meeting.attendees}
    kept: list[Attendee] = []
    for position, (email, name, role, partstat) in enumerate(attendees):
        row = by_email.pop(email, None) or Attendee(email=email)
        row.position, row.name, row.role, row.partstat = position, name, role, partstat
        kept.append(row)
    meeting.attendees = kept
