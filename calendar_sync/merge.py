"""Keeping one series' iCalendar up to date with what the organizer sends (pure).

A series is stored as one VCALENDAR: its VTIMEZONEs, the master VEVENT and its overrides
(VEVENTs with RECURRENCE-ID). Incoming iTIP components are merged by RFC 5546 §2.1.5: a
component replaces the stored one it names when its SEQUENCE is higher, or equal with a newer
DTSTAMP; an older one is stale and changes nothing; the very same one changes nothing.

- REQUEST with the master: the master is replaced; overrides the organizer did not send again
  and that are older than the new master go (an updated series re-sends its exceptions).
- REQUEST with only overrides: each replaces (or adds) that occurrence; one with a lower
  SEQUENCE than the master was sent before the series changed, and is stale.
- CANCEL of the master: the series is cancelled.
- CANCEL of an occurrence: it is excluded (EXDATE) and its override dropped; with
  RANGE=THISANDFUTURE the series ends before it (RRULE UNTIL; never later than it did).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from icalendar import Calendar, Event

from calendar_sync.ical import read_calendar, recurrence_key, to_utc
from core.errors import CalendarError


class Outcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    STALE = "stale"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Merged:
    ical: bytes  # the series after the merge (== before when nothing applied)
    outcome: Outcome
    sequence: int  # the master's SEQUENCE after the merge
    dtstamp: datetime | None
    # the master's DTSTART before and after, when an update moved the series
    moved: tuple[date | datetime, date | datetime] | None = None
    calendar: Calendar | None = None  # ``ical`` already read (and mended): no need to again


def components_for(calendar: Calendar, uid: str) -> list[Event]:
    return [
        c
        for c in calendar.walk("VEVENT")
        if isinstance(c, Event) and str(c.get("UID", "")).strip() == uid
    ]


def uids_in(calendar: Calendar) -> list[str]:
    """The UIDs of a calendar's events, in order of first appearance."""
    return list(dict.fromkeys(str(c.get("UID", "")).strip() for c in calendar.walk("VEVENT")))


def new_series(incoming: Calendar, uid: str) -> bytes:
    """A series' first calendar: the sender's components for ``uid`` and their zones."""
    return bytes(series_calendar(incoming, uid).to_ical())


def series_calendar(incoming: Calendar, uid: str) -> Calendar:
    """:func:`new_series` as a calendar object (its components are the sender's, mended)."""
    events = components_for(incoming, uid)
    if not events:
        raise CalendarError(f"no VEVENT with UID {uid!r}", "no-event")
    return _calendar(_timezones(incoming, events), events)


_READ: OrderedDict[bytes, Calendar] = OrderedDict()
_READ_LOCK = threading.Lock()
_READ_KEEP = 256


def remember(ical: bytes, calendar: Calendar) -> None:
    """Keep a series' calendar as read (or as just made) under its text, so the next change
    to the series need not read it again. Whoever gets it must not change it: a merge builds
    new calendars and copies a component before editing it."""
    with _READ_LOCK:
        _READ[ical] = calendar
        _READ.move_to_end(ical)
        while len(_READ) > _READ_KEEP:
            _READ.popitem(last=False)


def _read_stored(stored: bytes) -> Calendar:
    with _READ_LOCK:
        calendar = _READ.get(stored)
        if calendar is not None:
            _READ.move_to_end(stored)
            return calendar
    calendar = read_calendar(stored)
    remember(stored, calendar)
    return calendar


def merge_request(stored: bytes, incoming: Calendar, uid: str) -> Merged:
    calendar = _read_stored(stored)
    zones = {str(z.get("TZID")): z for z in calendar.walk("VTIMEZONE")}
    current = components_for(calendar, uid)
    by_key = {_key(c): c for c in current}
    before = _start(by_key.get(""))
    arriving = sorted(components_for(incoming, uid), key=_key)  # the master first
    outcome = Outcome.UNCHANGED
    for component in arriving:
        verdict = _compare(component, by_key.get(_key(component)), by_key.get(""))
        if verdict is Outcome.STALE and outcome is Outcome.UNCHANGED:
            outcome = Outcome.STALE
        if verdict is not Outcome.APPLIED:
            continue
        outcome = Outcome.APPLIED
        if _key(component) == "":  # a new master: old exceptions not sent again go
            keep = {_key(c) for c in arriving}
            by_key = {
                k: c for k, c in by_key.items() if k in keep or _sequence(c) >= _sequence(component)
            }
        by_key[_key(component)] = component
    if outcome is not Outcome.APPLIED:
        return _result(stored, calendar, uid, outcome)
    for zone in _timezones(incoming, arriving):
        zones[str(zone.get("TZID"))] = zone
    merged = _calendar(list(zones.values()), _ordered(by_key))
    result = _result(_remembered(merged), merged, uid, Outcome.APPLIED)
    after = _start(by_key.get(""))
    if before is not None and after is not None and before != after:
        return replace(result, moved=(before, after))
    return result


def _start(master: Event | None) -> date | datetime | None:
    if master is None or master.get("DTSTART") is None:
        return None
    try:
        value = master.decoded("DTSTART")
    except Exception:  # an unreadable DTSTART: nothing to follow
        return None
    return value if isinstance(value, date) else None


def merge_cancel(stored: bytes, incoming: Calendar, uid: str) -> Merged:
    calendar = _read_stored(stored)
    by_key = {_key(c): c for c in components_for(calendar, uid)}
    master = copy.deepcopy(by_key[""]) if "" in by_key else None  # edited below: a copy
    if master is not None:
        by_key[""] = master
    outcome = Outcome.UNCHANGED
    for component in components_for(incoming, uid):
        key = _key(component)
        if key == "":
            return _result(stored, calendar, uid, _cancel_all(master, component))
        reference = by_key.get(key) or master
        if reference is not None and _sequence(component) < _sequence(reference):
            outcome = Outcome.STALE if outcome is Outcome.UNCHANGED else outcome
            continue
        by_key.pop(key, None)
        if master is not None:
            _exclude(master, component)
        outcome = Outcome.APPLIED
    if outcome is not Outcome.APPLIED:
        return _result(stored, calendar, uid, outcome)
    if not by_key:  # every occurrence we knew is cancelled
        return _result(stored, calendar, uid, Outcome.CANCELLED)
    merged = _calendar(list(calendar.walk("VTIMEZONE")), _ordered(by_key))
    return _result(_remembered(merged), merged, uid, Outcome.APPLIED)


def _remembered(calendar: Calendar) -> bytes:
    ical = bytes(calendar.to_ical())
    remember(ical, calendar)
    return ical


def _cancel_all(master: Event | None, component: Event) -> Outcome:
    if master is not None and _sequence(component) < _sequence(master):
        return Outcome.STALE
    return Outcome.CANCELLED


def _exclude(master: Event, component: Event) -> None:
    """Cancel one occurrence (EXDATE), or end the series before it (THISANDFUTURE)."""
    prop = component.get("RECURRENCE-ID")
    value = component.decoded("RECURRENCE-ID")
    if str(getattr(prop, "params", {}).get("RANGE", "")).upper() == "THISANDFUTURE":
        _end_before(master, value)
        return
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    master.add("EXDATE", value)


def _end_before(master: Event, value: Any) -> None:
    rule = master.get("RRULE")
    if rule is None:
        return
    if isinstance(value, datetime):
        until: date | datetime = (value.astimezone(UTC) if value.tzinfo else value) - timedelta(
            seconds=1
        )
    else:
        until = value - timedelta(days=1)
    earlier = rule.get("UNTIL")
    if earlier:
        # a late cancel must not lengthen the series; a DATE against a DATE-TIME (or naive
        # against aware) cannot be compared: then the new end
        with contextlib.suppress(TypeError):
            until = min(until, earlier[0])
    rule.pop("COUNT", None)
    rule["UNTIL"] = [until]


def _compare(component: Event, stored: Event | None, master: Event | None) -> Outcome:
    """How an arriving component stands to the stored one it names; an occurrence we have
    no override for is measured against the master (older than the series: stale)."""
    if stored is None:
        if master is not None and _sequence(component) < _sequence(master):
            return Outcome.STALE
        return Outcome.APPLIED
    new_sequence, old_sequence = _sequence(component), _sequence(stored)
    if new_sequence != old_sequence:
        return Outcome.APPLIED if new_sequence > old_sequence else Outcome.STALE
    new_stamp, old_stamp = _dtstamp(component), _dtstamp(stored)
    if new_stamp is None or old_stamp is None or new_stamp == old_stamp:
        return Outcome.UNCHANGED
    return Outcome.APPLIED if new_stamp > old_stamp else Outcome.STALE


def _key(component: Event) -> str:
    if component.get("RECURRENCE-ID") is None:
        return ""
    try:
        return recurrence_key(component.decoded("RECURRENCE-ID"), "UTC")
    except Exception as exc:
        raise CalendarError("unreadable RECURRENCE-ID", "bad-value") from exc


def _sequence(component: Event) -> int:
    try:
        return max(0, int(str(component.get("SEQUENCE", 0))))
    except ValueError:
        return 0


def _dtstamp(component: Event) -> datetime | None:
    if component.get("DTSTAMP") is None:
        return None
    try:
        moment, _ = to_utc(component.decoded("DTSTAMP"), "UTC")
    except Exception:
        return None
    return moment


def _ordered(by_key: dict[str, Event]) -> list[Event]:
    return [by_key[k] for k in sorted(by_key)]  # the master ("") first


def _timezones(incoming: Calendar, events: Sequence[Event]) -> list[Any]:
    used = {
        str(prop.params.get("TZID"))
        for event in events
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
        for prop in _props(event, name)
        if getattr(prop, "params", None) and prop.params.get("TZID")
    }
    return [z for z in incoming.walk("VTIMEZONE") if str(z.get("TZID")) in used]


def _props(event: Event, name: str) -> list[Any]:
    value = event.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _calendar(zones: Sequence[Any], events: Sequence[Event]) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Kollegan//series//SV")
    calendar.add("version", "2.0")
    for zone in zones:
        calendar.add_component(zone)
    for event in events:
        calendar.add_component(event)
    return calendar


def _result(ical: bytes, calendar: Calendar, uid: str, outcome: Outcome) -> Merged:
    master = next((c for c in components_for(calendar, uid) if _key(c) == ""), None)
    if master is None:
        events = components_for(calendar, uid)
        master = events[0] if events else None
    return Merged(
        ical=ical,
        outcome=outcome,
        sequence=_sequence(master) if master is not None else 0,
        dtstamp=_dtstamp(master) if master is not None else None,
        calendar=calendar,
    )
