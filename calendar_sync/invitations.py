"""Applying iTIP messages (RFC 5546) to the store: series, their occurrences, the log.

- REQUEST (or a bare .ics without METHOD): create the series, or merge an update into it
  (:mod:`calendar_sync.merge`), then make the occurrences in the rolling horizon match it.
- CANCEL: the whole series, or one occurrence (THISANDFUTURE: the rest of the series).
- REPLY: the replying attendee's PARTSTAT, on the whole series or one occurrence.
- ADD, REFRESH, COUNTER, DECLINECOUNTER, PUBLISH: recorded; nothing changes.

Every message leaves a :class:`~store.models.CalendarEvent` row saying what it did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from icalendar import Calendar
from sqlalchemy.orm import Session

from calendar_sync import merge
from calendar_sync.ical import (
    EventData,
    calendar_zone,
    describe,
    event_data,
    read_calendars,
)
from calendar_sync.itip import CHECKED, refusal_for
from calendar_sync.plan import (
    Cancel,
    Create,
    Existing,
    Update,
    follow_the_series,
    plan_occurrences,
)
from calendar_sync.recurrence import expand, shifted_key
from core.errors import CalendarError
from core.types import MeetingStatus
from store import meetings as store
from store.models import CalendarEvent, Meeting, MeetingSeries

HORIZON = timedelta(days=60)  # occurrences of a recurring series exist this far ahead
LOOKBACK = timedelta(hours=12)  # occurrences that began this recently are still updated
RECORDED_ONLY = frozenset({"ADD", "REFRESH", "COUNTER", "DECLINECOUNTER", "PUBLISH"})
HANDLED = frozenset({"REQUEST", "CANCEL", "REPLY", ""}) | RECORDED_ONLY


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"


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
    default_timezone: str = "Europe/Stockholm"


@dataclass
class Applied:
    """What one calendar did: meeting changes, and one line per UID for the inbound row."""

    changes: list[MeetingChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created_series: list[int] = field(default_factory=list)  # series this calendar began


@dataclass(frozen=True, slots=True)
class _Run:
    """One message being applied: where it came from, when, and what it did so far."""

    session: Session
    source: InvitationSource
    now: datetime
    applied: Applied


def apply_invitation(
    session: Session, data: bytes, source: InvitationSource, now: datetime
) -> Applied:
    """Apply every VCALENDAR in one calendar part; :class:`CalendarError` when none can be read
    or one breaks RFC 5546's rules (nothing of that part is applied then)."""
    calendars = read_calendars(data, source.default_timezone)
    for calendar in calendars:
        method = str(calendar.get("METHOD", "")).strip().upper()
        if method not in HANDLED:
            raise CalendarError(f"iTIP method {method} is not one of RFC 5546's", "bad-method")
        if not calendar.walk("VEVENT"):
            raise CalendarError("the calendar holds no event", "no-vevent")
        refusal = (
            refusal_for(describe(calendar, source.default_timezone)) if method in CHECKED else None
        )
        if refusal is not None:
            raise CalendarError(f"{method} without what RFC 5546 requires ({refusal})", refusal)
    run = _Run(session, source, now, Applied())
    for calendar in calendars:
        method = str(calendar.get("METHOD", "")).strip().upper()
        for uid in merge.uids_in(calendar):
            if method in RECORDED_ONLY:
                note = _record_only(run, calendar, method, uid)
            elif method == "CANCEL":
                note = _cancel(run, calendar, uid)
            elif method == "REPLY":
                note = _reply(run, calendar, uid)
            else:
                note = _request(run, calendar, uid)
            run.applied.notes.append(note)
    return run.applied


# -- REQUEST ----------------------------------------------------------------------------------


def _request(run: _Run, calendar: Calendar, uid: str) -> str:
    session, source, now = run.session, run.source, run.now
    first = _first_event(calendar, uid, source)
    series = store.find_series(session, source.company_id, uid)
    moved, stored, fresh = None, None, series is None
    if series is None:
        if first.start is None:
            raise CalendarError(f"VEVENT {uid!r} has no DTSTART", "no-dtstart")
        stored = merge.series_calendar(calendar, uid)
        twin = _twin(run, stored, uid, first)
        if twin is not None:
            _log(run, None, "REQUEST", first, "duplicate", detail=f"the same meeting as {twin.uid}")
            return f"{uid}: the same meeting as meeting {twin.id} (same join link and time)"
        series = _new_series(run, stored, uid, first)
        run.applied.created_series.append(series.id)
        outcome = merge.Outcome.APPLIED
    elif series.withdrawn_at is not None:
        _log(
            run,
            series,
            "REQUEST",
            first,
            "withdrawn",
            detail="Kollegan was removed from this meeting",
        )
        return f"{uid}: Kollegan was removed from this meeting; the update is not applied"
    else:
        merged = merge.merge_request(series.ical.encode(), calendar, uid)
        outcome, moved, stored = merged.outcome, merged.moved, merged.calendar
        if outcome is merge.Outcome.APPLIED:
            _update_series(series, merged, first, source, now)
    _log(run, series, "REQUEST", first, outcome.value)
    if outcome is not merge.Outcome.APPLIED:
        return f"{uid}: {outcome.value} (SEQUENCE {first.sequence})"
    changes = sync_occurrences(
        session,
        series,
        now,
        source.default_timezone,
        source,
        moved=moved,
        calendar=stored,
        fresh=fresh,
    )
    run.applied.changes.extend(changes)
    return f"{uid}: " + _describe(changes)


def _twin(run: _Run, stored: Calendar, uid: str, first: EventData) -> Meeting | None:
    """A live meeting of the company with the same join link at the same time: the same
    meeting, invited to under another UID. A series is looked for at its first occurrence
    in the window (its DTSTART may be long past)."""
    if not first.join_url:
        return None
    start = first.start
    if first.recurring:
        occurrences = expand(
            stored,
            uid,
            run.now - LOOKBACK,
            run.now + HORIZON,
            default_timezone=run.source.default_timezone,
        )
        start = next((o.start for o in occurrences if o.status != "CANCELLED"), None)
    if start is None:
        return None
    return store.meeting_at(run.session, run.source.company_id, first.join_url, start)


def _new_series(run: _Run, stored: Calendar, uid: str, first: EventData) -> MeetingSeries:
    source, now = run.source, run.now
    series = MeetingSeries(
        company_id=source.company_id,
        agent_id=source.agent_id,
        uid=uid,
        sequence=first.sequence,
        dtstamp=first.dtstamp,
        status="active",
        recurring=first.recurring,
        timezone=first.timezone,
        organizer_email=first.organizer.email if first.organizer else source.sender or None,
        join_url=first.join_url,
        ical=_remembered(stored),
        horizon_end=None,
        created_at=now,
        updated_at=now,
    )
    run.session.add(series)
    run.session.flush()
    return series


def _remembered(stored: Calendar) -> str:
    ical = bytes(stored.to_ical())
    merge.remember(ical, stored)
    return ical.decode("utf-8", "replace")


def _update_series(
    series: MeetingSeries,
    merged: merge.Merged,
    first: EventData,
    source: InvitationSource,
    now: datetime,
) -> None:
    series.ical = merged.ical.decode("utf-8", "replace")
    series.sequence, series.dtstamp = merged.sequence, merged.dtstamp
    series.status = "active"  # re-invited after a cancellation
    if first.recurrence_id == "":  # the master came: its facts are the series' facts
        series.recurring = first.recurring
        series.timezone = first.timezone
        series.join_url = first.join_url
        if first.organizer:
            series.organizer_email = first.organizer.email
    series.agent_id = series.agent_id or source.agent_id
    series.updated_at = now


# -- CANCEL, REPLY and the rest ---------------------------------------------------------------


def _cancel(run: _Run, calendar: Calendar, uid: str) -> str:
    session, source, now = run.session, run.source, run.now
    first = _first_event(calendar, uid, source, start_required=False)
    series = store.find_series(session, source.company_id, uid)
    if series is None:
        _log(run, None, "CANCEL", first, "unknown", detail="no such meeting")
        return f"{uid}: cancel of a meeting we do not have"
    merged = merge.merge_cancel(series.ical.encode(), calendar, uid)
    _log(run, series, "CANCEL", first, merged.outcome.value)
    if merged.outcome is merge.Outcome.CANCELLED:
        series.status = "cancelled"
    elif merged.outcome is merge.Outcome.APPLIED:
        series.ical = merged.ical.decode("utf-8", "replace")
    else:
        return f"{uid}: cancel {merged.outcome.value}"
    series.updated_at = now
    changes = sync_occurrences(
        session, series, now, source.default_timezone, source, calendar=merged.calendar
    )
    run.applied.changes.extend(changes)
    return f"{uid}: " + _describe(changes)


def _reply(run: _Run, calendar: Calendar, uid: str) -> str:
    session, source = run.session, run.source
    series = store.find_series(session, source.company_id, uid)
    zone = calendar_zone(calendar, source.default_timezone)
    notes = []
    for component in merge.components_for(calendar, uid):
        event = event_data(component, zone, start_required=False)
        if series is None:
            _log(run, None, "REPLY", event, "unknown", detail="no such meeting")
            notes.append("reply to a meeting we do not have")
            continue
        answered = [a for a in event.attendees if a.email == source.sender.lower()]
        if not answered:
            _log(
                run,
                series,
                "REPLY",
                event,
                "ignored",
                detail="the sender is not the attendee replying",
            )
            notes.append("reply ignored: the sender is not the replying attendee")
            continue
        person = answered[0]
        touched = _set_partstat(session, series, event.recurrence_id, person.email, person.partstat)
        _log(run, series, "REPLY", event, "applied", detail=f"{person.email} {person.partstat}")
        notes.append(f"{person.email} {person.partstat.lower()} ({touched} occurrence(s))")
    return f"{uid}: " + "; ".join(notes)


def _set_partstat(
    session: Session, series: MeetingSeries, recurrence_id: str, email: str, partstat: str
) -> int:
    """An attendee's answer, on one occurrence or (for the master) on all of them."""
    touched = 0
    for meeting in store.occurrences_of(session, series.id):
        if recurrence_id and meeting.recurrence_id != recurrence_id:
            continue
        for attendee in meeting.attendees:
            if attendee.email == email and attendee.partstat != partstat:
                attendee.partstat = partstat
                touched += 1
    return touched


def _record_only(run: _Run, calendar: Calendar, method: str, uid: str) -> str:
    first = _first_event(calendar, uid, run.source, start_required=False)
    detail = "published information, not an invitation" if method == "PUBLISH" else ""
    series = store.find_series(run.session, run.source.company_id, uid)
    _log(run, series, method, first, "recorded", detail=detail)
    return f"{uid}: {method} recorded"


# -- occurrences ------------------------------------------------------------------------------


def sync_occurrences(
    session: Session,
    series: MeetingSeries,
    now: datetime,
    default_timezone: str,
    source: InvitationSource | None = None,
    *,
    moved: tuple[date | datetime, date | datetime] | None = None,
    calendar: Calendar | None = None,
    fresh: bool = False,
) -> list[MeetingChange]:
    """Make the series' meetings match its occurrences from ``now`` to the horizon
    (``moved``: the master's DTSTART before and after an update; meetings follow;
    ``calendar``: ``series.ical`` already read; ``fresh``: the series was just made and
    has no meetings yet)."""
    window_start = now - LOOKBACK
    window_end = now + HORIZON if series.recurring else None
    occurrences = (
        []
        if series.status == "cancelled"
        else expand(
            calendar if calendar is not None else series.ical.encode(),
            series.uid,
            window_start,
            window_end or now + HORIZON,
            default_timezone=default_timezone,
        )
    )
    rows = {} if fresh else {m.id: m for m in store.occurrences_of(session, series.id)}
    existing = _existing(rows.values())
    if moved is not None:
        keys = follow_the_series(
            existing,
            lambda key: shifted_key(key, *moved),
            {o.recurrence_id for o in occurrences},
        )
        _rekey(session, rows, keys)
        existing = _existing(rows.values())
    actions = plan_occurrences(
        existing,
        occurrences,
        window_start=window_start,
        window_end=window_end,
        series_cancelled=series.status == "cancelled",
    )
    changes = []
    created = []
    for action in actions:
        if isinstance(action, Create):
            created.append(_create_meeting(session, series, action.event, now, source))
        elif isinstance(action, Update):
            meeting = rows[action.meeting_id]
            changed = _fill(meeting, action.event, series, now, source)
            changes.append(
                MeetingChange(
                    meeting.id, series.uid, Change.UPDATED if changed else Change.UNCHANGED
                )
            )
        elif isinstance(action, Cancel):
            rows[action.meeting_id].status = MeetingStatus.CANCELLED.value
            rows[action.meeting_id].updated_at = now
            changes.append(MeetingChange(action.meeting_id, series.uid, Change.CANCELLED))
    if series.recurring:
        series.horizon_end = now + HORIZON
    session.flush()  # one flush for every new meeting: their ids
    changes += [MeetingChange(m.id, series.uid, Change.CREATED) for m in created]
    return changes


def _existing(meetings: Iterable[Meeting]) -> list[Existing]:
    return [
        Existing(m.id, m.recurrence_id, m.start, m.status == MeetingStatus.CANCELLED)
        for m in meetings
    ]


def _rekey(session: Session, rows: dict[int, Meeting], keys: dict[int, str]) -> None:
    """Give meetings their occurrences' new keys, through placeholders: (company, UID,
    recurrence) is unique, and a series moved by its interval swaps keys among meetings."""
    for meeting_id in keys:
        rows[meeting_id].recurrence_id = f"~{meeting_id}"
    session.flush()
    for meeting_id, key in keys.items():
        rows[meeting_id].recurrence_id = key
    session.flush()


def extend_horizons(session: Session, now: datetime, default_timezone: str) -> list[MeetingChange]:
    """Daily: recurring series get their next occurrences as meetings."""
    changes: list[MeetingChange] = []
    for series in store.series_due_for_extension(session, now + HORIZON - timedelta(days=1)):
        try:
            changes.extend(sync_occurrences(session, series, now, default_timezone))
        except CalendarError:
            continue  # it was readable when stored; a library change must not stop the rest
    return changes


def _create_meeting(
    session: Session,
    series: MeetingSeries,
    event: EventData,
    now: datetime,
    source: InvitationSource | None,
) -> Meeting:
    meeting = Meeting(
        company_id=series.company_id,
        series_id=series.id,
        uid=series.uid,
        recurrence_id=event.recurrence_id,
        status=MeetingStatus.SCHEDULED.value,
        created_at=now,
    )
    _fill(meeting, event, series, now, source)
    session.add(meeting)
    return meeting


def _fill(
    meeting: Meeting,
    event: EventData,
    series: MeetingSeries,
    now: datetime,
    source: InvitationSource | None,
) -> bool:
    """Copy the occurrence onto the meeting; True when anything a reader sees changed."""
    if event.start is None or event.end is None:  # expand() never yields one; be sure
        raise CalendarError(f"occurrence of {event.uid!r} without a start", "no-dtstart")
    organizer = event.organizer
    values = {
        "title": event.title,
        "description": event.description,
        "location": event.location,
        "organizer_email": organizer.email if organizer else series.organizer_email,
        "organizer_name": organizer.name if organizer else None,
        "start": event.start,
        "end": event.end,
        "timezone": event.timezone,
        "all_day": event.all_day,
        "join_url": event.join_url,
        "sequence": event.sequence,
        "dtstamp": event.dtstamp,
    }
    attendees = [(p.email, p.name, p.role, p.partstat) for p in event.attendees]
    changed = any(getattr(meeting, k, None) != v for k, v in values.items() if k != "dtstamp")
    changed = changed or [a.email for a in meeting.attendees] != [a[0] for a in attendees]
    for key, value in values.items():
        setattr(meeting, key, value)
    store.set_attendees(meeting, attendees)
    meeting.agent_id = series.agent_id
    if meeting.status == MeetingStatus.CANCELLED:
        meeting.status = MeetingStatus.SCHEDULED.value
        changed = True
    if source is not None:
        meeting.source_inbound_id = source.inbound_id
        meeting.source_message_id = source.message_id or meeting.source_message_id
    meeting.updated_at = now
    return changed


# -- helpers ----------------------------------------------------------------------------------


def _first_event(
    calendar: Calendar, uid: str, source: InvitationSource, *, start_required: bool = True
) -> EventData:
    """The master component for ``uid`` (or its first override when there is no master)."""
    components = merge.components_for(calendar, uid)
    components.sort(key=lambda c: c.get("RECURRENCE-ID") is not None)
    zone = calendar_zone(calendar, source.default_timezone)
    return event_data(components[0], zone, start_required=start_required)


def _log(
    run: _Run,
    series: MeetingSeries | None,
    method: str,
    event: EventData,
    outcome: str,
    *,
    detail: str = "",
) -> None:
    source = run.source
    store.record_calendar_event(
        run.session,
        CalendarEvent(
            company_id=source.company_id,
            series_id=series.id if series else None,
            inbound_id=source.inbound_id,
            method=method,
            uid=event.uid,
            recurrence_id=event.recurrence_id,
            sequence=event.sequence,
            sender=source.sender or None,
            outcome=outcome,
            detail=detail[:2000],
            created_at=run.now,
        ),
    )


def _describe(changes: Sequence[MeetingChange]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.change.value] = counts.get(change.change.value, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "no meeting changed"
