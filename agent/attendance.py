"""The agent attending: moving meetings through their live status, attaching as they start.

Run every minute. A meeting that becomes active is attached to through the connector; a
failed try is retried a minute later, three tries in all; after the third the meeting is
analysed after the fact (efterhandsanalys) and the organizer is asked, by mail, for the notes
or the transcript.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.connectors import Connector, MeetingView
from agent.lifecycle import (
    ATTACH_RETRY,
    ATTACH_TRIES,
    LOBBY_LEAD,
    next_status,
    plan_attach,
)
from agent.meeting_mail import plan_meeting_mail
from agent.readers import briefing_reader
from core.settings import Settings
from core.types import MeetingStatus, OutboundKind
from outbox.render import Renderer
from store.models import AttachAttempt, Meeting

log = logging.getLogger(__name__)

LIVE = "live"
AFTER_THE_FACT = "after-the-fact"
OPEN = (
    MeetingStatus.SCHEDULED,
    MeetingStatus.LOBBY,
    MeetingStatus.ACTIVE,
    MeetingStatus.POST_PROCESSING,
)


@dataclass(frozen=True, slots=True)
class Progress:
    moved: int
    attempts: int
    downgraded: int


def advance(
    session: Session,
    now: datetime,
    *,
    connector: Connector,
    settings: Settings,
    renderer: Renderer,
    limit: int = 500,
) -> Progress:
    """Move every open meeting that is due; returns what happened (for the log)."""
    due = session.execute(
        select(Meeting)
        .where(Meeting.status.in_([s.value for s in OPEN]), Meeting.start <= now + LOBBY_LEAD)
        .order_by(Meeting.start)
        .limit(limit)
    ).scalars()
    moved = attempts = downgraded = 0
    for meeting in due:
        status = next_status(meeting.status, meeting.start, meeting.end, now)
        if status != meeting.status:
            meeting.status = status.value
            meeting.updated_at = now
            moved += 1
        plan = plan_attach(
            status,
            meeting.attach_attempts,
            meeting.next_attach_at,
            meeting.attached_at is not None,
            now,
        )
        if not plan.attempt:
            continue
        attempts += 1
        if _try_attach(session, meeting, connector, now):
            continue
        if meeting.attach_attempts >= ATTACH_TRIES:
            _downgrade(session, meeting, settings, renderer, now)
            downgraded += 1
    if moved or attempts:
        log.info(
            "meetings: %d moved on, %d attach attempt(s), %d analysed after the fact",
            moved,
            attempts,
            downgraded,
        )
    return Progress(moved, attempts, downgraded)


def _try_attach(session: Session, meeting: Meeting, connector: Connector, now: datetime) -> bool:
    attempt = meeting.attach_attempts + 1
    view = MeetingView(meeting.id, meeting.title, meeting.start, meeting.join_url)
    try:
        result = connector.attach(view, attempt)
        attached, detail = result.attached, result.detail
    except Exception as exc:  # a connector's failure is a failed try, not a failed sweep
        attached, detail = False, f"{type(exc).__name__}: {exc}"[:500]
    session.add(
        AttachAttempt(
            meeting_id=meeting.id,
            connector=connector.name,
            attempt=attempt,
            attached=attached,
            detail=detail,
            at=now,
        )
    )
    meeting.attach_attempts = attempt
    if attached:
        meeting.attached_at, meeting.mode, meeting.next_attach_at = now, LIVE, None
    else:
        meeting.next_attach_at = now + ATTACH_RETRY
    return attached


def _downgrade(
    session: Session, meeting: Meeting, settings: Settings, renderer: Renderer, now: datetime
) -> None:
    meeting.mode = AFTER_THE_FACT
    meeting.next_attach_at = None
    reader = briefing_reader(session, meeting, settings)
    if reader is None:
        return
    plan_meeting_mail(
        session,
        meeting,
        kind=OutboundKind.NOTES_REQUEST,
        reader=reader,
        send_at=now,
        settings=settings,
        renderer=renderer,
        now=now,
    )
