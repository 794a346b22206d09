"""iCalendar bytes → plain event data (pure). First cut of iMIP: REQUEST and CANCEL.

Times come out aware and in UTC, with the zone the invitation was written in kept beside them
(an IANA id where one is known — Outlook's Windows names are mapped — else the TZID as given).
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar, GloballyUniqueTZIDGuessed
from icalendar.timezone import tzp

from calendar_sync.normalize import is_date_valued, normalize
from calendar_sync.zones import as_zone, is_iana, zone_from_display_name, zone_name
from core.errors import CalendarError

MAX_EVENTS = 2000
JOIN_URL_RE = re.compile(
    r"https://(?:"
    r"teams\.microsoft\.com/l/meetup-join/[^\s<>\"']+"
    r"|teams\.live\.com/meet/[^\s<>\"']+"
    r"|(?:[\w-]+\.)?zoom\.us/(?:j|my|w)/[^\s<>\"']+"
    r"|meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}[^\s<>\"']*"
    r"|[\w-]+\.webex\.com/[^\s<>\"']+"
    r"|facetime\.apple\.com/join[^\s<>\"']+"
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
    skipped: int = 0  # unreadable events left out


# Methods whose components may leave out DTSTART (RFC 5546 §3.2).
START_OPTIONAL = frozenset({"CANCEL", "REPLY", "REFRESH", "DECLINECOUNTER"})


_PARSE_LOCK = threading.Lock()


def _forget_custom_zones() -> None:
    """icalendar keeps every custom VTIMEZONE it has seen, by TZID, for the whole process,
    and the first definition wins: Company A's "Customized Time Zone" would shift Company B's
    times. Each calendar is therefore read with that cache empty (the zones a calendar
    defines are attached to its times while it is read, so clearing afterwards is safe)."""
    cache = getattr(tzp, "_TZP__tz_cache", None)
    if isinstance(cache, dict):
        cache.clear()


MAX_CALENDARS = 100  # VCALENDARs in one part (a holiday file may hold one per day)


def read_calendars(data: bytes, default_timezone: str = "Europe/Stockholm") -> list[Calendar]:
    """Every VCALENDAR in ``data`` (some clients send several), mended
    (:mod:`calendar_sync.normalize`); :class:`CalendarError` when there is none."""
    try:
        with _PARSE_LOCK, warnings.catch_warnings():
            # Evolution's "/softwarestudio.org/Tzfile/America/Chicago" is read as the zone
            # it names, which is what it means; icalendar says so with a warning, and a
            # warning must not decide whether we read a calendar (tests make them errors)
            warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
            _forget_custom_zones()
            found = Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError, …
        raise CalendarError(f"unreadable iCalendar: {type(exc).__name__}", "unreadable") from exc
    calendars = [c for c in found if isinstance(c, Calendar) and c.name == "VCALENDAR"]
    if not calendars:
        if b"BEGIN:VCALENDAR" in data.upper():
            raise CalendarError("a VCALENDAR that never ends or cannot be read", "unreadable")
        raise CalendarError("no VCALENDAR", "no-vcalendar")
    if len(calendars) > MAX_CALENDARS:
        raise CalendarError(f"more than {MAX_CALENDARS} calendars in one part", "too-many-events")
    if sum(len(c.walk("VEVENT")) for c in calendars) > MAX_EVENTS:
        raise CalendarError(f"more than {MAX_EVENTS} events in one part", "too-many-events")
    return [normalize(c, calendar_zone(c, default_timezone)) for c in calendars]


def read_calendar(data: bytes, default_timezone: str = "Europe/Stockholm") -> Calendar:
    """The first VCALENDAR in ``data``, mended; :class:`CalendarError` when there is none."""
    return read_calendars(data, default_timezone)[0]


def calendar_zone(calendar: Calendar, default_timezone: str) -> str:
    """X-WR-TIMEZONE when it names a zone we know, else the default: for floating times."""
    named = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    return named if named and is_iana(named) else default_timezone


def parse_calendar(data: bytes, *, default_timezone: str = "Europe/Stockholm") -> CalendarObject:
    """Parse the first iCalendar object; :class:`CalendarError` when it is not one we can read."""
    return describe(read_calendar(data, default_timezone), default_timezone)


def describe(calendar: Calendar, default_timezone: str) -> CalendarObject:
    """An already-read calendar as plain data."""
    method = str(calendar.get("METHOD", "")).strip().upper()
    floating = calendar_zone(calendar, default_timezone)
    events = []
    problems: list[CalendarError] = []
    for count, component in enumerate(calendar.walk("VEVENT"), start=1):
        if count > MAX_EVENTS:
            raise CalendarError(f"more than {MAX_EVENTS} events", "too-many-events")
        try:
            events.append(
                event_data(component, floating, start_required=method not in START_OPTIONAL)
            )
        except CalendarError as exc:  # one broken event does not sink the others
            problems.append(exc)
    if problems and not events:
        raise problems[0]
    return CalendarObject(method=method, events=tuple(events), skipped=len(problems))


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
        all_day = all_day or is_date_valued(component, "DTSTART")
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
        value = component.decoded(name)
    except Exception as exc:
        raise CalendarError(f"VEVENT {uid!r} has an unreadable {name}", "bad-value") from exc
    return None if value in ("", b"") else value


def _zone_of(component: Any, raw_start: Any, floating_zone: str) -> str:
    tzid = str(getattr(component.get("DTSTART"), "params", {}).get("TZID", ""))
    if isinstance(raw_start, datetime) and raw_start.tzinfo is not None:
        return zone_name(raw_start.tzinfo, tzid, raw_start, floating_zone)
    if isinstance(raw_start, datetime) and tzid.strip():
        # a TZID icalendar could not resolve and no VTIMEZONE defines ("(UTC-05:00) Eastern…")
        return zone_from_display_name(tzid, raw_start, floating_zone) or floating_zone
    return floating_zone  # floating time or all-day: the calendar's (or company's) zone


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
