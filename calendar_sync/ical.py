"""iCalendar bytes → plain event data (pure). First cut of iMIP: REQUEST and CANCEL.

Times come out aware and in UTC, with the zone the invitation was written in kept beside them
(an IANA id where one is known — Outlook's Windows names are mapped — else the TZID as given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

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
    start: datetime  # UTC
    end: datetime  # UTC
    timezone: str
    all_day: bool
    join_url: str | None
    status: str  # CONFIRMED, TENTATIVE, CANCELLED


@dataclass(frozen=True, slots=True)
class CalendarObject:
    method: str  # REQUEST, CANCEL, … ("" when the object has none)
    events: tuple[EventData, ...]


def parse_calendar(data: bytes, *, default_timezone: str = "Europe/Stockholm") -> CalendarObject:
    """Parse one iCalendar object; :class:`CalendarError` when it is not one we can read."""
    try:
        calendar = Calendar.from_ical(data)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError, …
        raise CalendarError(f"unreadable iCalendar: {type(exc).__name__}") from exc
    if isinstance(calendar, list):
        calendar = calendar[0] if calendar else None
    if calendar is None or calendar.name != "VCALENDAR":
        raise CalendarError("no VCALENDAR")
    method = str(calendar.get("METHOD", "")).strip().upper()
    calendar_zone = str(calendar.get("X-WR-TIMEZONE", "")).strip() or default_timezone
    events = []
    for count, component in enumerate(calendar.walk("VEVENT"), start=1):
        if count > MAX_EVENTS:
            raise CalendarError(f"more than {MAX_EVENTS} events")
        events.append(_event(component, calendar_zone))
    return CalendarObject(method=method, events=tuple(events))


def _event(component: Any, calendar_zone: str) -> EventData:
    uid = str(component.get("UID", "")).strip()
    if not uid:
        raise CalendarError("VEVENT without UID")
    try:
        raw_start = component.decoded("DTSTART")
    except KeyError:
        raise CalendarError(f"VEVENT {uid!r} has no DTSTART") from None
    except Exception as exc:
        raise CalendarError(f"VEVENT {uid!r} has an unreadable DTSTART") from exc
    zone_name = _zone_name(raw_start, component.get("DTSTART"), calendar_zone)
    start, all_day = _to_utc(raw_start, zone_name)
    end = _end(component, raw_start, start, all_day, zone_name)
    return EventData(
        uid=uid[:500],
        recurrence_id=_recurrence_id(component, zone_name),
        sequence=_int(component.get("SEQUENCE")),
        dtstamp=_optional_utc(component, "DTSTAMP", zone_name),
        title=_text(component.get("SUMMARY")),
        description=_text(component.get("DESCRIPTION")),
        location=_text(component.get("LOCATION")),
        organizer=_person(component.get("ORGANIZER")),
        attendees=_attendees(component.get("ATTENDEE")),
        start=start,
        end=end,
        timezone=zone_name,
        all_day=all_day,
        join_url=find_join_url(component),
        status=str(component.get("STATUS", "CONFIRMED")).strip().upper() or "CONFIRMED",
    )


def _zone_name(value: Any, prop: Any, calendar_zone: str) -> str:
    tz = value.tzinfo if isinstance(value, datetime) else None
    if tz is None:
        return calendar_zone  # floating time or all-day: the calendar's (or company's) zone
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key:
        return key
    tzid = str(getattr(prop, "params", {}).get("TZID", "")).strip().strip('"')
    mapped = WINDOWS_TO_OLSON.get(tzid)
    if mapped:
        return str(mapped)
    if tz.utcoffset(value) == timedelta(0) and tzid.upper() in ("", "UTC", "Z"):
        return "UTC"
    return tzid or "UTC"


def zone(name: str, fallback: str = "UTC") -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def _to_utc(value: Any, zone_name: str) -> tuple[datetime, bool]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone(zone_name))
        return value.astimezone(UTC), False
    if isinstance(value, date):
        local = datetime.combine(value, time(0), tzinfo=zone(zone_name))
        return local.astimezone(UTC), True
    raise CalendarError(f"not a date or time: {value!r}")


def _end(
    component: Any, raw_start: Any, start: datetime, all_day: bool, zone_name: str
) -> datetime:
    if component.get("DTEND") is not None:
        try:
            end, _ = _to_utc(component.decoded("DTEND"), zone_name)
        except Exception as exc:
            raise CalendarError("unreadable DTEND") from exc
    elif component.get("DURATION") is not None:
        try:
            duration = component.decoded("DURATION")
        except Exception as exc:
            raise CalendarError("unreadable DURATION") from exc
        end = start + duration if isinstance(duration, timedelta) else start
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    return max(end, start)


def _recurrence_id(component: Any, zone_name: str) -> str:
    if component.get("RECURRENCE-ID") is None:
        return ""
    try:
        value, _ = _to_utc(component.decoded("RECURRENCE-ID"), zone_name)
    except Exception as exc:
        raise CalendarError("unreadable RECURRENCE-ID") from exc
    return value.strftime("%Y%m%dT%H%M%SZ")


def _optional_utc(component: Any, name: str, zone_name: str) -> datetime | None:
    if component.get(name) is None:
        return None
    try:
        value, _ = _to_utc(component.decoded(name), zone_name)
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
