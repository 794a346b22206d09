"""The occurrences of a series within a window (pure), by ``recurring-ical-events``.

RRULE, RDATE, EXDATE and overrides (RECURRENCE-ID, RANGE=THISANDFUTURE) are the library's to
get right; this module turns its answer into :class:`~calendar_sync.ical.EventData`, one per
occurrence, each keyed by its original start (``recurrence_id``) so that an occurrence keeps
its identity when it is moved.

One correction: RFC 5545 §3.8.5.3 says every generated occurrence lasts *exactly* as long as
the component it repeats (DTEND − DTSTART; with DURATION, its days on the wall clock and its
hours exactly). The library adds the duration on the wall clock instead, so an occurrence that
crosses a DST change came out an hour long or short, or even ended before it began (a 02:30
meeting on the night the clocks go forward). :func:`_exact_end` puts the end right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import recurring_ical_events  # type: ignore[import-untyped]
from icalendar import Calendar

from calendar_sync.ical import (
    EventData,
    calendar_zone,
    event_data,
    read_calendar,
    recurrence_key,
)
from calendar_sync.merge import components_for
from core.errors import CalendarError

MAX_OCCURRENCES = 1000  # in one window; a FREQ=SECONDLY bomb stops here


def expand(
    ical: bytes | Calendar, uid: str, start: datetime, end: datetime, *, default_timezone: str
) -> list[EventData]:
    """The occurrences of ``uid`` that start in [start, end), in time order; a single
    (non-recurring) event is its own one occurrence whenever it is. ``ical`` may be a
    calendar already read by :func:`~calendar_sync.ical.read_calendar` (not read again)."""
    calendar = ical if isinstance(ical, Calendar) else read_calendar(ical, default_timezone)
    floating = calendar_zone(calendar, default_timezone)
    events = components_for(calendar, uid)
    if not events:
        return []
    recurring = any(e.get("RRULE") is not None or e.get("RDATE") is not None for e in events)
    if not recurring:
        masters = [e for e in events if e.get("RECURRENCE-ID") is None]
        # a single event is its master; invited to single occurrences only, each is one
        found = [event_data(e, floating) for e in masters or events]
        return sorted((e for e in found if e.start is not None), key=lambda e: e.start or end)
    if any(_too_frequent(e) for e in events):
        raise CalendarError("meetings do not repeat every second or minute", "bad-rule")
    master = next((e for e in events if e.get("RECURRENCE-ID") is None), None)
    ranges = sorted((_key(e), e) for e in events if _is_range(e))
    moved = {_key(e) for e in events if e.get("RECURRENCE-ID") is not None}
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        occurrences = []
        for count, component in enumerate(query.after(start), start=1):
            if count > MAX_OCCURRENCES:
                raise CalendarError(f"more than {MAX_OCCURRENCES} occurrences", "too-many")
            occurrence = event_data(component, floating)
            if occurrence.start is not None and occurrence.start >= end:
                break
            if occurrence.uid != uid:
                continue
            if occurrence.recurrence_id not in moved and master is not None:
                base = _base_for(occurrence.recurrence_id, master, ranges)
                occurrence = _exact_end(component, occurrence, base)
            occurrences.append(occurrence)
    except CalendarError:
        raise
    except Exception as exc:  # the library's errors for broken rules
        raise CalendarError(f"cannot expand the series: {type(exc).__name__}", "bad-rule") from exc
    return sorted(
        (o for o in occurrences if o.start is not None and start <= o.start < end),
        key=lambda o: (o.start, o.recurrence_id),
    )


def shifted_key(key: str, before: date | datetime, after: date | datetime) -> str | None:
    """The key an occurrence has once its series moved from ``before`` to ``after`` (the
    master's DTSTART): the same wall-clock shift, as the organizer's calendar moves each
    occurrence. None when the two cannot be compared (a DATE and a DATE-TIME, floating)."""
    if isinstance(before, datetime) and isinstance(after, datetime):
        if before.tzinfo is None or after.tzinfo is None:
            return None
        try:
            instant = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        wall = instant.astimezone(before.tzinfo).replace(tzinfo=None)
        wall += after.replace(tzinfo=None) - before.replace(tzinfo=None)
        return recurrence_key(wall.replace(tzinfo=after.tzinfo), "UTC")
    if isinstance(before, datetime) or isinstance(after, datetime):
        return None
    try:
        day = datetime.strptime(key, "%Y%m%d").date()
    except ValueError:
        return None
    return (day + (after - before)).strftime("%Y%m%d")


def _too_frequent(event: object) -> bool:
    rules = getattr(event, "get", lambda _name: None)("RRULE")
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule is not None and str(rule.get("FREQ", [""])[0]).upper() in ("SECONDLY", "MINUTELY"):
            return True
    return False


def _key(component: Any) -> str:
    try:
        return recurrence_key(component.decoded("RECURRENCE-ID"), "UTC")
    except Exception as exc:
        raise CalendarError("unreadable RECURRENCE-ID", "bad-value") from exc


def _is_range(component: Any) -> bool:
    prop = component.get("RECURRENCE-ID")
    return str(getattr(prop, "params", {}).get("RANGE", "")).upper() == "THISANDFUTURE"


def _base_for(key: str, master: Any, ranges: Sequence[tuple[str, Any]]) -> Any:
    """The component a generated occurrence repeats: the last THISANDFUTURE override at or
    before it, else the master (keys are UTC ``YYYYMMDDTHHMMSSZ``, so they sort by time)."""
    base = master
    for range_key, component in ranges:
        if range_key <= key:
            base = component
    return base


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _exact_end(component: Any, occurrence: EventData, base: Any) -> EventData:
    """The occurrence ending exactly the base's duration after it starts (RFC 5545
    §3.8.5.3), where the library's wall-clock end came from that duration (an RDATE PERIOD
    keeps its own end; floating and all-day times have no DST to cross)."""
    start, end = _decoded(component, "DTSTART"), _decoded(component, "DTEND")
    base_start = _decoded(base, "DTSTART")
    if occurrence.start is None or not (_aware(start) and _aware(end) and _aware(base_start)):
        return occurrence
    base_end, duration = _decoded(base, "DTEND"), _decoded(base, "DURATION")
    if _aware(base_end):
        if end - start != base_end - base_start:
            return occurrence
        exact = occurrence.start + (base_end.astimezone(UTC) - base_start.astimezone(UTC))
    elif isinstance(duration, timedelta):
        if end - start != duration:
            return occurrence
        days = timedelta(days=duration.days)
        exact = (start + days).astimezone(UTC) + (duration - days)
    else:
        return occurrence
    return replace(occurrence, end=max(exact, occurrence.start))


def _decoded(component: Any, name: str) -> Any:
    if component.get(name) is None:
        return None
    try:
        return component.decoded(name)
    except Exception:  # a broken property: the library's value stands
        return None
