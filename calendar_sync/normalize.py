"""Mending what real clients send, before anything else reads it (pure; edits in place).

Each fix is for a habit seen in the wild (the shared corpus has an example of each):

- a VEVENT without UID (Open-Xchange exports): a stable UID made from its content;
- an RRULE with spaces (``BYDAY=MO, TU``) that icalendar keeps as broken: re-read without them;
- an all-day series whose UNTIL, or an override's RECURRENCE-ID, is a DATE-TIME (Outlook's
  local midnight in UTC): read as the date it means, so the last day and moved days count;
- ``DTSTART;TZID=Europe/Berlin;VALUE=DATE``: still a date.

And one for speed: times in a zone a VTIMEZONE defines get the IANA zone that keeps the same
time, when one does (:func:`calendar_sync.zones.equivalent_zone`). icalendar turns a
VTIMEZONE into a dateutil zone that walks its rules from their first year — Outlook writes
1601 — at every conversion: about a millisecond each, and an invitation needs hundreds. The
TZID and the VTIMEZONE stay as written.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, vRecur

from calendar_sync.zones import (
    as_zone,
    equivalent_zone,
    remember_definition,
    zone_from_display_name,
)


def normalize(calendar: Calendar, floating_zone: str) -> Calendar:
    _iana_zones(calendar, floating_zone)
    for event in calendar.walk("VEVENT"):
        _ensure_uid(event)
        _mend_rrule(event)
        _resolve_named_zones(event, floating_zone)
        _exdates_in_start_zone(event)
        _date_series(event, floating_zone)
    _date_overrides(calendar, floating_zone)
    return calendar


TIME_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


def _value_of(prop: Any) -> Any:
    """A property's date or datetime; None for a broken or list-valued one."""
    try:
        return prop.dt
    except Exception:  # icalendar's broken properties raise on any access
        return None


_EQUIVALENTS: dict[tuple[str, str, int, str], tzinfo | None] = {}
_MAX_EQUIVALENTS = 1000


def _iana_zones(calendar: Calendar, floating_zone: str) -> None:
    definitions = {str(z.get("TZID", "")).strip(): z for z in calendar.walk("VTIMEZONE")}
    if not definitions:
        return
    chosen: dict[str, tzinfo | None] = {}
    for event in calendar.walk("VEVENT"):
        for name in TIME_PROPERTIES:
            for prop in _props(event, name):
                tzid = str(getattr(prop, "params", {}).get("TZID", "")).strip()
                if tzid not in definitions:
                    continue
                for item in getattr(prop, "dts", ()):
                    value = getattr(item, "dt", None)
                    if not isinstance(value, datetime) or value.tzinfo is None:
                        continue
                    if getattr(value.tzinfo, "key", None) is not None:
                        continue  # zoneinfo already
                    if tzid not in chosen:
                        definition = definitions[tzid]
                        content = repr(definition)  # names every property and value
                        chosen[tzid] = _equivalent(content, definition, tzid, value, floating_zone)
                        remember_definition(value.tzinfo, content)
                    zone = chosen[tzid]
                    if zone is not None:
                        item.dt = value.replace(tzinfo=zone)


def _equivalent(
    content: str, definition: Any, tzid: str, near: datetime, preferred: str
) -> tzinfo | None:
    """Remembered by the VTIMEZONE's content (every Outlook of a company sends the same one;
    its repr is cheaper than writing it out)."""
    key = (content, tzid, near.year, preferred)
    if key not in _EQUIVALENTS and near.tzinfo is not None:
        if len(_EQUIVALENTS) >= _MAX_EQUIVALENTS:
            _EQUIVALENTS.clear()
        zone = _rebased(definition, near.year - 2) or near.tzinfo
        found = equivalent_zone(zone, tzid, near, preferred, since=_onset(definition))
        _EQUIVALENTS[key] = as_zone(found) if found else None
    return _EQUIVALENTS.get(key)


def _rebased(definition: Any, year: int) -> tzinfo | None:
    """The zone of an Outlook-style VTIMEZONE (one STANDARD, one DAYLIGHT, each a yearly
    rule without end) with its rules starting in ``year`` instead of 1601: the same clock
    from then on, without walking four centuries at every conversion. None for any other
    shape (rules that end or follow each other must keep their own starts)."""
    subs = definition.subcomponents
    if sorted(sub.name for sub in subs) != ["DAYLIGHT", "STANDARD"]:
        return None
    copied = copy.deepcopy(definition)
    for sub in copied.subcomponents:
        rule, start = sub.get("RRULE"), _value_of(sub.get("DTSTART"))
        if not isinstance(rule, vRecur) or not isinstance(start, datetime) or "UNTIL" in rule:
            return None
        if str(rule.get("FREQ", [""])[0]).upper() != "YEARLY" or "COUNT" in rule:
            return None
        if start.year < year:
            try:
                later = start.replace(year=year)  # the rule may take its day from DTSTART
            except ValueError:  # 29 February
                return None
            del sub["DTSTART"]
            sub.add("DTSTART", later)
    try:
        zone: tzinfo = copied.to_tz(lookup_tzid=False)
    except Exception:  # icalendar cannot build it: the original stands
        return None
    return zone


def _onset(definition: Any) -> datetime | None:
    """When the VTIMEZONE's rules begin (its earliest DTSTART, a day early for the offset)."""
    starts = [_value_of(sub.get("DTSTART")) for sub in definition.subcomponents]
    found = [s for s in starts if isinstance(s, datetime)]
    if not found:
        return None
    return min(found).replace(tzinfo=UTC) - timedelta(days=1)


def _props(event: Any, name: str) -> list[Any]:
    value = event.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _resolve_named_zones(event: Any, floating_zone: str) -> None:
    """A time whose TZID nothing defines ("(UTC-05:00) Eastern Time (US and Canada)") is
    given the IANA zone that name means, so every later reader agrees on the instant."""
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = event.get(name)
        value = _value_of(prop) if prop is not None else None
        tzid = str(getattr(prop, "params", {}).get("TZID", "")).strip()
        if not isinstance(value, datetime) or value.tzinfo is not None or not tzid:
            continue
        zone = zone_from_display_name(tzid, value, floating_zone)
        if zone is None:
            continue
        params = {k: v for k, v in prop.params.items() if k != "TZID"}
        del event[name]
        event.add(name, value.replace(tzinfo=as_zone(zone)))
        event[name].params.update(params)


def _exdates_in_start_zone(event: Any) -> None:
    """EXDATEs written in another zone than DTSTART are the same instants in DTSTART's zone
    (RFC 5545 matches exact instants; the expander compares wall-clock times)."""
    start = _value_of(event.get("DTSTART")) if event.get("DTSTART") is not None else None
    exdates = event.get("EXDATE")
    if not isinstance(start, datetime) or start.tzinfo is None or exdates is None:
        return
    values = []
    for prop in exdates if isinstance(exdates, list) else [exdates]:
        for item in getattr(prop, "dts", []):
            moment = _value_of(item)
            if isinstance(moment, datetime) and moment.tzinfo is not None:
                moment = moment.astimezone(start.tzinfo)
            if moment is not None:
                values.append(moment)
    if values:
        del event["EXDATE"]
        for moment in values:
            event.add("EXDATE", moment)


def _ensure_uid(event: Any) -> None:
    if str(event.get("UID", "")).strip():
        return
    basis = "|".join(
        str(event.get(name, "")) for name in ("DTSTART", "SUMMARY", "ORGANIZER", "RRULE")
    )
    digest = hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:32]
    event.add("UID", f"kollegan-{digest}@uid.invalid")


def _mend_rrule(event: Any) -> None:
    rule = event.get("RRULE")
    if rule is None or isinstance(rule, vRecur | list):
        return
    raw = rule.to_ical().decode("utf-8", "replace") if hasattr(rule, "to_ical") else str(rule)
    cleaned = "".join(raw.replace("\\;", ";").replace("\\,", ",").split())
    try:
        mended = vRecur.from_ical(cleaned)
    except ValueError:
        return  # still broken: expansion will refuse it by name
    del event["RRULE"]
    event.add("RRULE", mended)


def is_date_valued(event: Any, name: str) -> bool:
    """True for a DATE, also when a client wrote ``TZID=…;VALUE=DATE`` (a datetime to icalendar)."""
    prop = event.get(name)
    if prop is None or isinstance(prop, list):
        return False
    if str(getattr(prop, "params", {}).get("VALUE", "")).upper() == "DATE":
        return True
    value = _value_of(prop)
    return isinstance(value, date) and not isinstance(value, datetime)


def as_date(value: Any, floating_zone: str) -> date:
    """The calendar date a DATE-TIME that should have been a DATE stands for: the nearest
    local midnight (Outlook writes the local midnight after the last day, in UTC)."""
    if not isinstance(value, datetime):
        return value if isinstance(value, date) else date.today()
    local = value.astimezone(as_zone(floating_zone)) if value.tzinfo else value
    since_midnight = local - datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
    return local.date() + timedelta(days=1 if since_midnight >= timedelta(hours=12) else 0)


def _date_series(event: Any, floating_zone: str) -> None:
    """An all-day series' UNTIL as the date it means (Outlook: the last day's local midnight)."""
    rule = event.get("RRULE")
    if not is_date_valued(event, "DTSTART") or not isinstance(rule, vRecur):
        return
    until = rule.get("UNTIL")
    if until and isinstance(until[0], datetime):
        rule["UNTIL"] = [as_date(until[0], floating_zone)]


def _date_overrides(calendar: Calendar, floating_zone: str) -> None:
    date_masters = {
        str(e.get("UID", "")).strip()
        for e in calendar.walk("VEVENT")
        if e.get("RECURRENCE-ID") is None and is_date_valued(e, "DTSTART")
    }
    for event in calendar.walk("VEVENT"):
        prop = event.get("RECURRENCE-ID")
        if prop is None or str(event.get("UID", "")).strip() not in date_masters:
            continue
        value = _value_of(prop)
        if isinstance(value, datetime):
            params = dict(getattr(prop, "params", {}))
            del event["RECURRENCE-ID"]
            event.add("RECURRENCE-ID", as_date(value, floating_zone))
            if "RANGE" in params:
                event["RECURRENCE-ID"].params["RANGE"] = params["RANGE"]
