"""Meetings and their attendees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from core.errors import NotFoundError
from store.models import Attendee, CalendarEvent, Meeting, MeetingSeries


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


def find_series(session: Session, company_id: int, uid: str) -> MeetingSeries | None:
    return session.execute(
        select(MeetingSeries)
        .where(MeetingSeries.company_id == company_id, MeetingSeries.uid == uid)
        .options(undefer(MeetingSeries.ical))
    ).scalar_one_or_none()


def get_series(session: Session, series_id: int) -> MeetingSeries:
    series = session.get(MeetingSeries, series_id)
    if series is None:
        raise NotFoundError(f"no meeting series {series_id}")
    return series


def occurrences_of(session: Session, series_id: int) -> Sequence[Meeting]:
    return (
        session.execute(
            select(Meeting)
            .where(Meeting.series_id == series_id)
            .order_by(Meeting.start)
            .options(selectinload(Meeting.attendees))
        )
        .scalars()
        .all()
    )


def meeting_at(session: Session, company_id: int, join_url: str, start: datetime) -> Meeting | None:
    """A live meeting of the company with this join link at this time (the same meeting,
    invited to under another UID — e.g. by two attendees' calendars)."""
    return session.execute(
        select(Meeting)
        .where(
            Meeting.company_id == company_id,
            Meeting.join_url == join_url,
            Meeting.start == start,
            Meeting.status != "cancelled",
        )
        .limit(1)
    ).scalar_one_or_none()


def series_due_for_extension(
    session: Session, horizon_before: datetime, limit: int = 500
) -> Sequence[MeetingSeries]:
    return (
        session.execute(
            select(MeetingSeries)
            .where(
                MeetingSeries.recurring.is_(True),
                MeetingSeries.status == "active",
                MeetingSeries.horizon_end < horizon_before,
            )
            .options(undefer(MeetingSeries.ical))
            .limit(limit)
        )
        .scalars()
        .all()
    )


def record_calendar_event(session: Session, event: CalendarEvent) -> None:
    session.add(event)
