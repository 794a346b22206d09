"""Building iTIP calendars for tests: a recurring series described as plain data, written with
``icalendar`` the way clients write them, and what ``recurring-ical-events`` makes of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events  # type: ignore[import-untyped]
from icalendar import Calendar, Event, Timezone, vCalAddress, vText

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ORGANIZER = "anna@acme.example"


@dataclass(frozen=True)
class Override:
    """One occurrence as the organizer changed it (RECURRENCE-ID = its original start)."""

    recurrence: datetime  # aware, the original start
    start: datetime
    duration: timedelta  # exact: DTEND is this long after DTSTART
    title: str
    cancelled: bool = False
    sequence: int = 0
    utc_recurrence_id: bool = False  # RECURRENCE-ID written in UTC instead of with TZID


@dataclass(frozen=True)
class Series:
    uid: str
    start: datetime  # aware, in ``STOCKHOLM`` (DTSTART;TZID=Europe/Stockholm)
    duration: timedelta  # exact: DTEND is this long after DTSTART (also across a DST change)
    title: str
    rule: dict[str, Any] | None  # vRecur values: {"freq": "WEEKLY", "count": 5, …}
    exdates: tuple[datetime, ...] = ()
    utc_exdates: bool = False  # EXDATE:…Z instead of EXDATE;TZID=…
    overrides: tuple[Override, ...] = ()
    sequence: int = 0
    dtstamp: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    vtimezone: bool = True  # a VTIMEZONE for the TZID, as Outlook and Google send
    attendees: tuple[str, ...] = ("erik@acme.example",)
    join_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more properties on the master


def _person(email: str, name: str | None = None, partstat: str = "NEEDS-ACTION") -> vCalAddress:
    person = vCalAddress(f"mailto:{email}")
    if name:
        person.params["cn"] = vText(name)
    person.params["partstat"] = vText(partstat)
    return person


def _base(uid: str, sequence: int, dtstamp: datetime, attendees: Sequence[str]) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", dtstamp)
    event.add("organizer", _person(ORGANIZER, "Anna Berg"))
    for email in attendees:
        event.add("attendee", _person(email), encode=False)
    return event


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def later(moment: datetime, duration: timedelta) -> datetime:
    """``duration`` of real time after ``moment``, in its zone (not on the wall clock); in
    UTC when that is the second of two equal wall-clock times (a TZID cannot say which)."""
    end = (moment.astimezone(UTC) + duration).astimezone(moment.tzinfo)
    if end.fold and end.replace(fold=0).utcoffset() != end.utcoffset():
        return end.astimezone(UTC)
    return end


def master_event(series: Series) -> Event:
    event = _base(series.uid, series.sequence, series.dtstamp, series.attendees)
    event.add("summary", series.title)
    event.add("dtstart", series.start)
    event.add("dtend", later(series.start, series.duration))
    if series.rule is not None:
        event.add("rrule", series.rule)
    for moment in series.exdates:
        event.add("exdate", _as_utc(moment) if series.utc_exdates else moment)
    if series.join_url:
        event.add("x-microsoft-skypeteamsmeetingurl", series.join_url)
        event.add("location", "Microsoft Teams-möte")
    for name, value in series.extra.items():
        event.add(name, value)
    return event


def override_event(series: Series, override: Override) -> Event:
    event = _base(series.uid, override.sequence, series.dtstamp, series.attendees)
    recurrence = _as_utc(override.recurrence) if override.utc_recurrence_id else override.recurrence
    event.add("recurrence-id", recurrence)
    event.add("summary", override.title)
    event.add("dtstart", override.start)
    event.add("dtend", later(override.start, override.duration))
    if override.cancelled:
        event.add("status", "CANCELLED")
    if series.join_url:
        event.add("x-microsoft-skypeteamsmeetingurl", series.join_url)
    return event


def calendar_of(events: Sequence[Event], method: str, vtimezone: bool) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Kollegan tests//series//SV")
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    if vtimezone:
        calendar.add_component(Timezone.from_tzid("Europe/Stockholm"))
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def request(series: Series, *, with_master: bool = True, method: str = "REQUEST") -> bytes:
    """The series as the organizer sends it: the master and every override."""
    events = [master_event(series)] if with_master else []
    events += [override_event(series, o) for o in series.overrides]
    return calendar_of(events, method, series.vtimezone)


def cancel_occurrence(
    series: Series,
    recurrence: datetime,
    *,
    sequence: int | None = None,
    utc_recurrence_id: bool = False,
    this_and_future: bool = False,
) -> bytes:
    """METHOD:CANCEL of one occurrence (RECURRENCE-ID = its original start)."""
    event = _base(
        series.uid,
        series.sequence if sequence is None else sequence,
        series.dtstamp + timedelta(minutes=5),
        series.attendees,
    )
    event.add("recurrence-id", _as_utc(recurrence) if utc_recurrence_id else recurrence)
    if this_and_future:
        event["RECURRENCE-ID"].params["RANGE"] = "THISANDFUTURE"
    event.add("summary", series.title)
    event.add("status", "CANCELLED")
    return calendar_of([event], "CANCEL", series.vtimezone and not utc_recurrence_id)


def cancel_series(series: Series, *, sequence: int | None = None) -> bytes:
    event = _base(
        series.uid,
        series.sequence + 1 if sequence is None else sequence,
        series.dtstamp + timedelta(minutes=5),
        series.attendees,
    )
    event.add("summary", series.title)
    event.add("dtstart", series.start)
    event.add("status", "CANCELLED")
    return calendar_of([event], "CANCEL", series.vtimezone)


def reply(
    series: Series, attendee: str, partstat: str, recurrence: datetime | None = None
) -> bytes:
    event = Event()
    event.add("uid", series.uid)
    event.add("sequence", series.sequence)
    event.add("dtstamp", series.dtstamp + timedelta(minutes=10))
    event.add("organizer", _person(ORGANIZER, "Anna Berg"))
    event.add("attendee", _person(attendee, partstat=partstat), encode=False)
    if recurrence is not None:
        event.add("recurrence-id", recurrence)
    event.add("summary", series.title)
    return calendar_of([event], "REPLY", series.vtimezone and recurrence is not None)


# -- what recurring-ical-events makes of it ---------------------------------------------------


def utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


Occurrence = tuple[str, datetime, datetime, str]  # (recurrence key, UTC start, UTC end, title)


def library_occurrences(
    data: bytes, start: datetime, end: datetime, series: Series | None = None
) -> set[Occurrence]:
    """The occurrences ``recurring-ical-events`` finds in [start, end) of the calendar as
    sent, cancelled ones left out. ``between`` also returns occurrences that began before
    ``start`` and are still going on; the agent's window is by start (LOOKBACK), so those go.

    Given the ``series`` the calendar was written from, an occurrence the rule generated
    ends ``series.duration`` after it starts: RFC 5545 §3.8.5.3 gives every generated
    occurrence the exact duration of DTEND − DTSTART, where the library adds it on the wall
    clock (an hour off across a DST change, or an end before the start in the spring gap)."""
    moved = {utc_key(o.recurrence) for o in series.overrides} if series else set()
    found = set()
    for component in recurring_ical_events.of(Calendar.from_ical(data)).between(start, end):
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue
        begin = component.decoded("DTSTART").astimezone(UTC)
        if begin < start:
            continue
        recurrence = component.get("RECURRENCE-ID")
        key = utc_key(component.decoded("RECURRENCE-ID")) if recurrence is not None else ""
        finish = component.decoded("DTEND").astimezone(UTC)
        if series is not None and key not in moved:
            finish = begin + series.duration
        found.add((key, begin, finish, str(component.get("SUMMARY", ""))))
    return found


def rule_instants(series: Series, start: datetime, end: datetime) -> list[datetime]:
    """The series' original starts in [start, end): its RRULE alone, no EXDATE, no override."""
    bare = replace(series, exdates=(), overrides=())
    data = calendar_of([master_event(bare)], "REQUEST", vtimezone=False)
    starts = {
        component.decoded("DTSTART")
        for component in recurring_ical_events.of(Calendar.from_ical(data)).between(start, end)
    }
    return sorted(s for s in starts if s >= start)


def wall_shift(moment: datetime, delta: timedelta) -> datetime:
    """The same wall-clock time moved by ``delta`` in its own zone (how a series is moved)."""
    return (moment.replace(tzinfo=None) + delta).replace(tzinfo=moment.tzinfo)
