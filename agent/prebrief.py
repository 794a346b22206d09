"""The pre-brief, first cut: what the organizer should know before the meeting.

Planned whenever a meeting is created or changes: sent at start − lead time (at once when
the meeting is closer than that), moved with the meeting, cancelled with it, and never sent
for a meeting that has already begun. It goes to the briefing reader
(:func:`agent.readers.briefing_reader`): someone the company trusts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from agent.meeting_mail import meeting_mail_key, plan_meeting_mail
from agent.readers import briefing_reader
from core.settings import Settings
from core.types import MeetingStatus, OutboundKind
from outbox.queue import cancel_mail
from outbox.render import Renderer
from store.meetings import get_meeting
from store.models import OutboundMessage


def prebrief_key(meeting_id: int) -> str:
    return meeting_mail_key(OutboundKind.PRE_BRIEF, meeting_id)


def prebrief_send_at(start: datetime, lead: timedelta, now: datetime) -> datetime | None:
    """When to send: start − lead, or now when that has passed; None once the meeting began."""
    if start <= now:
        return None
    return max(now, start - lead)


def plan_prebrief(
    session: Session,
    meeting_id: int,
    *,
    settings: Settings,
    renderer: Renderer,
    now: datetime,
) -> OutboundMessage | None:
    """Plan (or move, or cancel) the meeting's pre-brief; the row, or None when none is due."""
    meeting = get_meeting(session, meeting_id)
    send_at = prebrief_send_at(meeting.start, settings.prebrief_lead_time, now)
    reader = briefing_reader(session, meeting, settings)
    if meeting.status == MeetingStatus.CANCELLED or send_at is None or reader is None:
        cancel_mail(session, prebrief_key(meeting.id), now)
        return None
    return plan_meeting_mail(
        session,
        meeting,
        kind=OutboundKind.PRE_BRIEF,
        reader=reader,
        send_at=send_at,
        settings=settings,
        renderer=renderer,
        now=now,
    )
