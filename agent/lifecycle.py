"""A meeting's live status (pure): scheduled → lobby → active → post-processing → done.

Cancelled is final and set elsewhere (by the organizer's CANCEL). Times decide the rest:
the lobby opens a few minutes before the start, the meeting is active until its end, and the
post-processing (efterarbete) — waiting for notes and transcripts — lasts a day after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.types import MeetingStatus

LOBBY_LEAD = timedelta(minutes=5)
POST_PROCESSING = timedelta(hours=24)
ATTACH_TRIES = 3  # then the meeting is analysed after the fact
ATTACH_RETRY = timedelta(minutes=1)

ORDER = (
    MeetingStatus.SCHEDULED,
    MeetingStatus.LOBBY,
    MeetingStatus.ACTIVE,
    MeetingStatus.POST_PROCESSING,
    MeetingStatus.DONE,
)


def status_at(start: datetime, end: datetime, now: datetime) -> MeetingStatus:
    """The status a (not cancelled) meeting has at ``now``."""
    if now < start - LOBBY_LEAD:
        return MeetingStatus.SCHEDULED
    if now < start:
        return MeetingStatus.LOBBY
    if now < max(end, start + timedelta(minutes=1)):
        return MeetingStatus.ACTIVE
    if now < end + POST_PROCESSING:
        return MeetingStatus.POST_PROCESSING
    return MeetingStatus.DONE


def next_status(current: str, start: datetime, end: datetime, now: datetime) -> MeetingStatus:
    """Where the meeting goes from ``current``: forward only; cancelled and done stay."""
    if current in (MeetingStatus.CANCELLED, MeetingStatus.DONE):
        return MeetingStatus(current)
    due = status_at(start, end, now)
    try:
        already = ORDER.index(MeetingStatus(current))
    except ValueError:
        return due
    return due if ORDER.index(due) > already else MeetingStatus(current)


@dataclass(frozen=True, slots=True)
class AttachPlan:
    """What to do about attaching to the meeting's transcript source now."""

    attempt: bool  # try (again) now
    give_up: bool  # the last try failed: analyse after the fact


def plan_attach(
    status: MeetingStatus, attempts: int, next_try: datetime | None, attached: bool, now: datetime
) -> AttachPlan:
    if attached or status not in (MeetingStatus.ACTIVE, MeetingStatus.LOBBY):
        return AttachPlan(attempt=False, give_up=False)
    if status is MeetingStatus.LOBBY:
        return AttachPlan(attempt=False, give_up=False)  # the first try is at the start
    if attempts >= ATTACH_TRIES:
        return AttachPlan(attempt=False, give_up=False)
    due = next_try is None or next_try <= now
    return AttachPlan(attempt=due, give_up=False)
