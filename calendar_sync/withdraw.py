"""Removing Kollegan from a meeting: the series and its coming meetings are cancelled, and
later updates from the organizer no longer bring it back (the series stays withdrawn).

What is already stored about the meeting stays until deletion exists (the portal issue).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.types import MeetingStatus
from store import meetings as store
from store.models import CalendarEvent

FINISHED = frozenset({MeetingStatus.CANCELLED, MeetingStatus.DONE})


def withdraw_series(session: Session, series_id: int, now: datetime, *, detail: str) -> list[int]:
    """Withdraw the agent; the ids of the meetings cancelled now ([] when it was already)."""
    series = store.get_series(session, series_id)
    if series.withdrawn_at is not None:
        return []
    series.withdrawn_at = now
    series.status = "cancelled"
    series.updated_at = now
    cancelled = []
    for meeting in store.occurrences_of(session, series.id):
        if meeting.status not in FINISHED:
            meeting.status = MeetingStatus.CANCELLED.value
            meeting.updated_at = now
            cancelled.append(meeting.id)
    store.record_calendar_event(
        session,
        CalendarEvent(
            company_id=series.company_id,
            series_id=series.id,
            inbound_id=None,
            method="WITHDRAW",
            uid=series.uid,
            recurrence_id="",
            sequence=series.sequence,
            sender=None,
            outcome="withdrawn",
            detail=detail[:2000],
            created_at=now,
        ),
    )
    session.flush()
    return cancelled
