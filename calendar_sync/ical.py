"""iCalendar bytes → plain event data (pure). First cut of iMIP: REQUEST and CANCEL.

Times come out aware and in UTC, with the zone the invitation was written in kept beside them
(an IANA id where one is known — Outlook's Windows names are mapped — else the TZID as given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar

from calendar_sync.zones import as_zone, is_iana, zone_name
from core.errors import CalendarError

MAX_EVENTS = 2000
JOIN_URL_RE = re.compile(
    r"https://(?:"
    r"teams\.microsoft\.com/l/meetup-join/[^\s<>\"']+"
    r"|teams\.live\.com/meet/[^\s<>\"']+"
    r"|(?:[\w-]+\.)?zoom\.us/(?:j|my|w)/[^\s<>\"']+"
    r"|meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}[^\s<>\"']*"
    r"|[\w-]+\.webex\.com/[^\s<>\"']+"
    r")",
    re.IGNORECASE,
)
JOIN_PROPERTIES = (
    "X-MICROSOFT-SKYPETEAMSMEETINGURL",
    "X-GOOGLE-CONFERENCE",
    "CONFERENCE",
    "URL",
    "LOCATION",
    "DESCRIPTION",
    "X-ALT-DESC",
)


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str | None = None
    role: str = "REQ-PARTICIPANT"
    partstat: str = "NEEDS-ACTION"


@dataclass(frozen=True, slots=True)
class EventData:
    uid: str
    recurrence_id: str  # "" for the event itself
    sequence: int
    dtstamp: datetime | None
    title: str
    description: str
    location: str
    organizer: Person | None
    attendees: tuple[Person, ...]
    start: datetime | None  # UTC; None only where iTIP allows it (CANCEL, REPLY, REFRESH)
    end: datetime | None  # UTC
    timezone: str
    all_day: bool
    join_url: str | None
    status: str  # CONFIRMED, TENTATIVE, CANCELLED
    recurring: bool = False  # has RRULE or RDATE
    this_and_future: bool = False  # RECURRENCE-ID;RANGE=THISANDFUTURE


@dataclass(frozen=True, slots=True)
class CalendarObject:
    method: str  # REQUEST, CANCEL, … ("" when the object has none)
    events: tuple[EventData, ...]


# Methods whose components may leave out DTSTART (RFC 5546 §3.2).
START_OPTIONAL = frozenset({"CANCEL", "REPLY", "REFRESH", "DECLINECOUNTER"})


def read_calendar(data: bytes) -> Calendar:
    """The first VCALENDAR in ``data``; :class:`CalendarError` when there is none."""
    try:
        calendar = Calendar.from_ical(data)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError, …
        raise CalendarError(f"unreadable iCalendar: {type(exc).__name__}", "unreadable") from exc
    if isinstance(calendar, list):
        calendar = calendar[0] if calendar else None
    if calendar is None or calendar.name != "VCALENDAR":
        raise CalendarError("no VCALENDAR", "no-vcalendar")
    return calendar


def calendar_zone(calendar: Calendar, default_timezone: str) -> str:
    """X-WR-TIMEZONE when it names a zone we know, else the default: for floating times."""
    named = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    return named if named and is_iana(named) else default_timezone


def parse_calendar(data: bytes, *, default_timezone: str = "Europe/Stockholm") -> CalendarObject:
    """Parse one iCalendar object; :class:`CalendarError` when it is not one we can read."""
    calendar = read_calendar(data)
    method = str(calendar.get("METHOD", "")).strip().upper()
    floating = calendar_zone(calendar, default_timezone)
    events = []
    for count, component in enumerate(calendar.walk("VEVENT"), start=1):
        if count > MAX_EVENTS:
            raise CalendarError(f"more than {MAX_EVENTS} events", "too-many-events")
        events.append(event_data(component, floating, start_required=method not in START_OPTIONAL))
    return CalendarObject(method=method, events=tuple(events))


def event_data(component: Any, floating_zone: str, *, start_required: bool = True) -> EventData:
    """One VEVENT (or one occurrence of a series) as plain data, times in UTC."""
    uid = str(component.get("UID", "")).strip()
    if not uid:
        raise CalendarError("VEVENT without UID", "no-uid")
    raw_start = _decoded(component, "DTSTART", uid)
    if raw_start is None and start_required:
        raise CalendarError(f"VEVENT {uid!r} has no DTSTART", "no-dtstart")
    zone_id = _zone_of(component, raw_start, floating_zone)
    start: datetime | None = None
    end: datetime | None = None
    all_day = False
    if raw_start is not None:
        start, all_day = to_utc(raw_start, zone_id)
        end = _end(component, start, all_day, zone_id)
    return EventData(
        uid=uid[:500],
        recurrence_id=_recurrence_id(component, zone_id),
        sequence=_int(component.get("SEQUENCE")),
        dtstamp=_optional_utc(component, "DTSTAMP", zone_id),
        title=_text(component.get("SUMMARY")),
        description=_text(component.get("DESCRIPTION")),
        location=_text(component.get("LOCATION")),
        organizer=_person(component.get("ORGANIZER")),
        attendees=_attendees(component.get("ATTENDEE")),
        start=start,
        end=end,
        timezone=zone_id,
        all_day=all_day,
        join_url=find_join_url(component),
        status=str(component.get("STATUS", "CONFIRMED")).strip().upper() or "CONFIRMED",
        recurring=component.get("RRULE") is not None or component.get("RDATE") is not None,
        this_and_future=_is_this_and_future(component),
    )


def _decoded(component: Any, name: str, uid: str) -> Any:
    if component.get(name) is None:
        return None
    try:
        return component.decoded(name)
    except Exception as exc:
        raise CalendarError(f"VEVENT {uid!r} has an unreadable {name}", "bad-value") from exc


def _zone_of(component: Any, raw_start: Any, floating_zone: str) -> str:
    if not isinstance(raw_start, datetime) or raw_start.tzinfo is None:
        return floating_zone  # floating time or all-day: the calendar's (or company's) zone
    tzid = str(getattr(component.get("DTSTART"), "params", {}).get("TZID", ""))
    return zone_name(raw_start.tzinfo, tzid, raw_start, floating_zone)


def to_utc(value: Any, zone_id: str) -> tuple[datetime, bool]:
    """A DATE or DATE-TIME as an aware UTC datetime (floating times in ``zone_id``), and
    whether it was a DATE (all day)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=as_zone(zone_id))
        return value.astimezone(UTC), False
    if isinstance(value, date):
        local = datetime.combine(value, time(0), tzinfo=as_zone(zone_id))
        return local.astimezone(UTC), True
    raise CalendarError(f"not a date or time: {value!r}", "bad-value")


def _end(component: Any, start: datetime, all_day: bool, zone_id: str) -> datetime:
    uid = str(component.get("UID", ""))
    raw_end = _decoded(component, "DTEND", uid)
    if raw_end is not None:
        end, _ = to_utc(raw_end, zone_id)
    elif (duration := _decoded(component, "DURATION", uid)) is not None:
        end = start + duration if isinstance(duration, timedelta) else start
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    return max(end, start)


def recurrence_key(value: Any, zone_id: str) -> str:
    """The stable key of an occurrence: its original start in UTC (``YYYYMMDDTHHMMSSZ``), or
    the date (``YYYYMMDD``) for all-day series."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    moment, _ = to_utc(value, zone_id)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _recurrence_id(component: Any, zone_id: str) -> str:
    uid = str(component.get("UID", ""))
    value = _decoded(component, "RECURRENCE-ID", uid)
    return "" if value is None else recurrence_key(value, zone_id)


def _is_this_and_future(component: Any) -> bool:
    prop = component.get("RECURRENCE-ID")
    params = getattr(prop, "params", {})
    return str(params.get("RANGE", "")).upper() == "THISANDFUTURE"


def _optional_utc(component: Any, name: str, zone_id: str) -> datetime | None:
    if component.get(name) is None:
        return None
    try:
        value, _ = to_utc(component.decoded(name), zone_id)
    except Exception:
        return None
    return value


def _int(value: Any) -> int:
    try:
        return max(0, int(str(value))) if value is not None else 0
    except ValueError:
        return 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()[:20_000]


def _address(value: Any) -> str | None:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip().lower()
    return text if "@" in text and len(text) <= 320 and " " not in text else None


def _person(value: Any) -> Person | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    email = _address(value)
    if email is None:
        return None
    params = getattr(value, "params", {})
    name = str(params.get("CN", "")).strip().strip("'\"") or None
    return Person(
        email=email,
        name=name,
        role=str(params.get("ROLE", "REQ-PARTICIPANT")).upper(),
        partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
    )


def _attendees(value: Any) -> tuple[Person, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    seen: dict[str, Person] = {}
    for item in values[:1000]:
        person = _person(item)
        if person is not None and person.email not in seen:
            seen[person.email] = person
    return tuple(seen.values())


def find_join_url(component: Any) -> str | None:
    """The online meeting link (Teams, Zoom, Google Meet, Webex), wherever the client put it."""
    for name in JOIN_PROPERTIES:
        value = component.get(name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            found = JOIN_URL_RE.search(str(item))
            if found:
                return found.group(0).rstrip(".,;)>]")
    return None
