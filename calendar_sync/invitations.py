"""Applying an invitation to the store: create, update or cancel meetings (first cut of iMIP).

Updates follow RFC 5546 §2.1.5: a higher SEQUENCE wins; with an equal SEQUENCE a newer
DTSTAMP wins; anything older is stale and changes nothing (so the same invitation twice, or
an old one arriving late, has no effect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from calendar_sync.ical import CalendarObject, EventData, parse_calendar
from core.errors import CalendarError
from core.types import MeetingStatus
from store.meetings import find_meeting, set_attendees
from store.models import Meeting


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class MeetingChange:
    meeting_id: int
    uid: str
    change: Change


@dataclass(frozen=True, slots=True)
class InvitationSource:
    company_id: int
    agent_id: int | None
    inbound_id: int | None
    message_id: str | None
    sender: str


SUPPORTED_METHODS = frozenset({"REQUEST", "CANCEL", ""})


def read_calendars(
    calendars: Sequence[bytes], default_timezone: str
) -> tuple[list[CalendarObject], list[str]]:
    """Parse every calendar part; return the readable ones and a reason for each other."""
    readable, problems = [], []
    for data in calendars:
        try:
            readable.append(parse_calendar(data, default_timezone=default_timezone))
        except CalendarError as exc:
            problems.append(str(exc))
    return readable, problems


def apply_calendar(
    session: Session, calendar: CalendarObject, source: InvitationSource, now: datetime
) -> list[MeetingChange]:
    method = calendar.method or "REQUEST"  # a bare .ics attachment reads as an invitation
    changes = []
    for event in calendar.events:
        if method == "CANCEL" or event.status == "CANCELLED":
            change = _cancel(session, event, source, now)
        else:
            change = _request(session, event, source, now)
        if change is not None:
            changes.append(change)
    return changes


def _request(
    session: Session, event: EventData, source: InvitationSource, now: datetime
) -> MeetingChange:
    meeting = find_meeting(session, source.company_id, event.uid, event.recurrence_id)
    if meeting is None:
        meeting = Meeting(
            company_id=source.company_id,
            uid=event.uid,
            recurrence_id=event.recurrence_id,
            status=MeetingStatus.SCHEDULED.value,
            created_at=now,
        )
        _fill(meeting, event, source, now)
        session.add(meeting)
        session.flush()
        return MeetingChange(meeting.id, meeting.uid, Change.CREATED)
    if not is_newer(event, meeting):
        stale = event.sequence < meeting.sequence or _older(event.dtstamp, meeting.dtstamp)
        return MeetingChange(meeting.id, meeting.uid, Change.STALE if stale else Change.UNCHANGED)
    _fill(meeting, event, source, now)
    if meeting.status == MeetingStatus.CANCELLED:
        meeting.status = MeetingStatus.SCHEDULED.value  # re-invited after a cancellation
    session.flush()
    return MeetingChange(meeting.id, meeting.uid, Change.UPDATED)


def _cancel(
    session: Session, event: EventData, source: InvitationSource, now: datetime
) -> MeetingChange | None:
    meeting = find_meeting(session, source.company_id, event.uid, event.recurrence_id)
    if meeting is None:
        return None
    if meeting.status == MeetingStatus.CANCELLED or event.sequence < meeting.sequence:
        return MeetingChange(meeting.id, meeting.uid, Change.UNCHANGED)
    meeting.status = MeetingStatus.CANCELLED.value
    meeting.sequence = event.sequence
    meeting.updated_at = now
    session.flush()
    return MeetingChange(meeting.id, meeting.uid, Change.CANCELLED)


def is_newer(event: EventData, meeting: Meeting) -> bool:
    if event.sequence != meeting.sequence:
        return event.sequence > meeting.sequence
    if event.dtstamp is None or meeting.dtstamp is None:
        return False
    return event.dtstamp > meeting.dtstamp


def _older(candidate: datetime | None, stored: datetime | None) -> bool:
    return candidate is not None and stored is not None and candidate < stored


def _fill(meeting: Meeting, event: EventData, source: InvitationSource, now: datetime) -> None:
    organizer = event.organizer
    meeting.agent_id = source.agent_id
    meeting.sequence = event.sequence
    meeting.dtstamp = event.dtstamp
    meeting.title = event.title
    meeting.description = event.description
    meeting.location = event.location
    meeting.organizer_email = organizer.email if organizer else (source.sender or None)
    meeting.organizer_name = organizer.name if organizer else None
    meeting.start = event.start
    meeting.end = event.end
    meeting.timezone = event.timezone
    meeting.all_day = event.all_day
    meeting.join_url = event.join_url
    meeting.source_inbound_id = source.inbound_id
    meeting.source_message_id = source.message_id
    meeting.updated_at = now
    set_attendees(meeting, [(p.email, p.name, p.role, p.partstat) for p in event.attendees])
