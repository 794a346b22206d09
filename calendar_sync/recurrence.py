"""The occurrences of a series within a window (pure), by ``recurring-ical-events``.

RRULE, RDATE, EXDATE and overrides (RECURRENCE-ID, RANGE=THISANDFUTURE) are the library's to
get right; this module turns its answer into :class:`~calendar_sync.ical.EventData`, one per
occurrence, each keyed by its original start (``recurrence_id``) so that an occurrence keeps
its identity when it is moved.
"""

from __future__ import annotations

from datetime import datetime

import recurring_ical_events  # type: ignore[import-untyped]

from calendar_sync.ical import EventData, calendar_zone, event_data, read_calendar
from calendar_sync.merge import components_for
from core.errors import CalendarError

MAX_OCCURRENCES = 1000  # in one window; a FREQ=SECONDLY bomb stops here


def expand(
    ical: bytes, uid: str, start: datetime, end: datetime, *, default_timezone: str
) -> list[EventData]:
    """The occurrences of ``uid`` that start in [start, end), in time order; a single
    (non-recurring) event is its own one occurrence whenever it is."""
    calendar = read_calendar(ical, default_timezone)
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
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        occurrences = []
        for count, component in enumerate(query.after(start), start=1):
            if count > MAX_OCCURRENCES:
                raise CalendarError(f"more than {MAX_OCCURRENCES} occurrences", "too-many")
            occurrence = event_data(component, floating)
            if occurrence.start is not None and occurrence.start >= end:
                break
            if occurrence.uid == uid:
                occurrences.append(occurrence)
    except CalendarError:
        raise
    except Exception as exc:  # the library's errors for broken rules
        raise CalendarError(f"cannot expand the series: {type(exc).__name__}", "bad-rule") from exc
    return sorted(
        (o for o in occurrences if o.start is not None and start <= o.start < end),
        key=lambda o: (o.start, o.recurrence_id),
    )


def _too_frequent(event: object) -> bool:
    rules = getattr(event, "get", lambda _name: None)("RRULE")
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule is not None and str(rule.get("FREQ", [""])[0]).upper() in ("SECONDLY", "MINUTELY"):
            return True
    return False
