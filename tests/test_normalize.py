"""calendar_sync.normalize: mending what real clients send before anything reads it (pure)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.ical import parse_calendar, read_calendar, read_calendars
from calendar_sync.normalize import as_date, is_date_valued
from calendar_sync.recurrence import expand
from core.errors import CalendarError
from inbox.parse import parse_message
from tests.conftest import CORPUS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WINDOW = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC))
FIXTURES = Path(__file__).parent / "fixtures" / "invitations"


def calendar(*events: list[str]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//normalize//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", "DTSTAMP:20270101T000000Z", *event, "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()


def starts(data: bytes, uid: str) -> list[str]:
    return [
        o.start.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
        for o in expand(data, uid, *WINDOW, default_timezone="Europe/Stockholm")
        if o.start is not None
    ]


def master(data: bytes) -> Any:
    return read_calendar(data).walk("VEVENT")[0]


def test_an_event_without_uid_gets_a_stable_one_from_its_content() -> None:
    one = ["DTSTART:20270301T080000Z", "SUMMARY:Styrgrupp"]
    other = ["DTSTART:20270302T080000Z", "SUMMARY:Styrgrupp"]
    first = [e.uid for e in parse_calendar(calendar(one, other)).events]
    again = [e.uid for e in parse_calendar(calendar(one, other)).events]
    assert first == again
    assert len(set(first)) == 2
    assert all(u.startswith("kollegan-") and u.endswith("@uid.invalid") for u in first)


def test_an_rrule_with_spaces_is_mended() -> None:
    data = calendar(
        [
            "UID:spaces@acme.example",
            "DTSTART;TZID=Europe/Stockholm:20270301T090000",
            "DTEND;TZID=Europe/Stockholm:20270301T100000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO, WE;COUNT=4",
        ]
    )
    assert master(data)["RRULE"]["BYDAY"] == ["MO", "WE"]
    assert starts(data, "spaces@acme.example") == [
        "2027-03-01 09:00",
        "2027-03-03 09:00",
        "2027-03-08 09:00",
        "2027-03-10 09:00",
    ]


EASTERN = '"(UTC-05:00) Eastern Time (US and Canada)"'


def test_a_display_name_nothing_defines_becomes_its_zone_everywhere() -> None:
    """DTSTART, DTEND, EXDATE and an override's RECURRENCE-ID in the same undefined zone
    all mean New York time, so the EXDATE and the override find their occurrences."""
    data = calendar(
        [
            "UID:eastern@acme.example",
            f"DTSTART;TZID={EASTERN}:20270310T090000",
            f"DTEND;TZID={EASTERN}:20270310T100000",
            "RRULE:FREQ=DAILY;COUNT=5",
            f"EXDATE;TZID={EASTERN}:20270311T090000",
        ],
        [
            "UID:eastern@acme.example",
            f"RECURRENCE-ID;TZID={EASTERN}:20270313T090000",
            f"DTSTART;TZID={EASTERN}:20270313T120000",
            f"DTEND;TZID={EASTERN}:20270313T130000",
        ],
    )
    event = parse_calendar(data).events[0]
    assert event.timezone == "America/New_York"
    assert event.start == datetime(2027, 3, 10, 14, 0, tzinfo=UTC)  # EST, before 14 March
    assert starts(data, "eastern@acme.example") == [
        "2027-03-10 15:00",
        "2027-03-12 15:00",
        "2027-03-13 18:00",  # moved to 12:00 New York
        "2027-03-14 14:00",  # EDT from 14 March
    ]


@pytest.mark.parametrize(
    "exdate",
    [
        "EXDATE:20270308T080000Z",  # UTC
        "EXDATE;TZID=Europe/London:20270308T080000",  # another zone, the same instant
        "EXDATE;TZID=Europe/Stockholm:20270308T090000",  # DTSTART's own zone
    ],
)
def test_an_exdate_in_any_zone_removes_the_occurrence_at_that_instant(exdate: str) -> None:
    data = calendar(
        [
            "UID:ex@acme.example",
            "DTSTART;TZID=Europe/Stockholm:20270301T090000",
            "DTEND;TZID=Europe/Stockholm:20270301T100000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
            exdate,
        ]
    )
    assert starts(data, "ex@acme.example") == ["2027-03-01 09:00", "2027-03-15 09:00"]
    [value] = master(data)["EXDATE"].dts
    assert value.dt == datetime(2027, 3, 8, 9, 0, tzinfo=STOCKHOLM)


def test_an_exdate_across_the_dst_change_in_utc() -> None:
    """09:00 is 08:00Z in winter and 07:00Z in summer: the UTC EXDATE must match the
    occurrence on its own side of the change."""
    data = calendar(
        [
            "UID:dst@acme.example",
            "DTSTART;TZID=Europe/Stockholm:20270322T090000",
            "DTEND;TZID=Europe/Stockholm:20270322T100000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
            "EXDATE:20270329T070000Z",
        ]
    )
    assert starts(data, "dst@acme.example") == ["2027-03-22 09:00", "2027-04-05 09:00"]


def test_an_all_day_series_until_as_outlooks_utc_midnight() -> None:
    """Outlook ends an all-day series with the last day's local midnight in UTC."""
    data = calendar(
        [
            "UID:days@acme.example",
            "DTSTART;VALUE=DATE:20270301",
            "DTEND;VALUE=DATE:20270302",
            "RRULE:FREQ=DAILY;UNTIL=20270303T230000Z",
        ]
    )
    assert master(data)["RRULE"]["UNTIL"] == [date(2027, 3, 4)]
    assert starts(data, "days@acme.example") == [
        "2027-03-01 00:00",
        "2027-03-02 00:00",
        "2027-03-03 00:00",
        "2027-03-04 00:00",
    ]


def test_an_all_day_override_with_a_date_time_recurrence_id() -> None:
    data = calendar(
        [
            "UID:moved-day@acme.example",
            "DTSTART;VALUE=DATE:20270301",
            "DTEND;VALUE=DATE:20270302",
            "RRULE:FREQ=DAILY;COUNT=3",
        ],
        [
            "UID:moved-day@acme.example",
            "RECURRENCE-ID:20270301T230000Z",  # the 2nd, as a local midnight in UTC
            "DTSTART;VALUE=DATE:20270310",
            "DTEND;VALUE=DATE:20270311",
            "SUMMARY:Flyttad",
        ],
    )
    assert read_calendar(data).walk("VEVENT")[1].decoded("RECURRENCE-ID") == date(2027, 3, 2)
    assert starts(data, "moved-day@acme.example") == [
        "2027-03-01 00:00",
        "2027-03-03 00:00",
        "2027-03-10 00:00",
    ]


def test_a_date_with_a_tzid_is_still_a_date() -> None:
    data = calendar(["UID:d@acme.example", "DTSTART;TZID=Europe/Berlin;VALUE=DATE:20270301"])
    assert is_date_valued(master(data), "DTSTART")
    event = parse_calendar(data).events[0]
    assert event.all_day
    assert event.start == datetime(2027, 2, 28, 23, 0, tzinfo=UTC)  # midnight in Stockholm


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2027, 3, 3, 23, 0, tzinfo=UTC), date(2027, 3, 4)),  # local midnight
        (datetime(2027, 3, 4, 0, 0, tzinfo=UTC), date(2027, 3, 4)),  # 01:00 local
        (datetime(2027, 3, 4, 10, 59, tzinfo=UTC), date(2027, 3, 4)),  # 11:59 local
        (datetime(2027, 3, 4, 11, 0, tzinfo=UTC), date(2027, 3, 5)),  # noon: the next
        (datetime(2027, 3, 4, 22, 0), date(2027, 3, 5)),  # floating 22:00
        (date(2027, 3, 4), date(2027, 3, 4)),
    ],
)
def test_as_date_takes_the_nearest_local_midnight(value: date, expected: date) -> None:
    assert as_date(value, "Europe/Stockholm") == expected


def test_evolutions_globally_unique_tzid_is_read_as_the_zone_it_names() -> None:
    """libical writes "/softwarestudio.org/Tzfile/America/Chicago"; icalendar warns as it
    reads it, and a warning (an error in these tests) must not refuse the calendar."""
    event = parse_calendar((CORPUS / "ics" / "ical4j_evolution.ics").read_bytes()).events[0]
    assert event.timezone == "America/Chicago"
    assert event.start == datetime(2008, 6, 24, 18, 0, tzinfo=UTC)  # 13:00 CDT


@functools.cache
def _real_calendars() -> list[tuple[str, bytes]]:
    found = [(f"ics/{p.name}", p.read_bytes()) for p in sorted((CORPUS / "ics").iterdir())]
    mails = [*sorted((CORPUS / "imip-eml").iterdir()), *sorted(FIXTURES.glob("*.eml"))]
    for path in mails:
        try:
            message = parse_message(path.read_bytes())
        except Exception:  # noqa: S112 - refused mail has no calendar to read
            continue
        found += [(path.name, part) for part in message.calendars]
    return found


def test_reading_a_stored_series_again_changes_nothing() -> None:
    """A series is stored as the mended calendar and read (mended) again at every change:
    mending must be idempotent, or each reading would move something."""
    checked = 0
    for name, data in _real_calendars():
        try:
            calendars = read_calendars(data)
        except CalendarError:
            continue
        for mended in calendars:
            once = mended.to_ical()
            assert read_calendars(once)[0].to_ical() == once, name
            checked += 1
    assert checked > 150


# -- VTIMEZONEs read as the IANA zone that keeps the same time --------------------------------

OUTLOOK_CET = [
    "BEGIN:VTIMEZONE",
    "TZID:W. Europe Standard Time",
    "BEGIN:STANDARD",
    "DTSTART:16010101T030000",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:16010101T020000",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
]


def with_zone(zone: list[str], tzid: str, start: str) -> bytes:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//tests//zones//EN",
            *zone,
            "BEGIN:VEVENT",
            "UID:zone@acme.example",
            "DTSTAMP:20270101T000000Z",
            f'DTSTART;TZID="{tzid}":{start}',
            "RRULE:FREQ=DAILY;COUNT=3",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    ).encode()


def icalendars_own(data: bytes) -> datetime:
    """What icalendar alone makes of DTSTART (its zone from the VTIMEZONE as written)."""
    from icalendar import Calendar

    from calendar_sync.ical import _forget_custom_zones

    _forget_custom_zones()
    value = Calendar.from_ical(data).walk("VEVENT")[0].decoded("DTSTART")
    assert isinstance(value, datetime)
    return value


def test_outlooks_vtimezone_is_read_as_the_iana_zone_it_keeps_time_with() -> None:
    data = with_zone(OUTLOOK_CET, "W. Europe Standard Time", "20271031T023000")
    event = master(data)
    value = event.decoded("DTSTART")
    assert getattr(value.tzinfo, "key", None) == "Europe/Berlin"
    assert event["DTSTART"].params["TZID"] == "W. Europe Standard Time"  # written as it came
    assert value.astimezone(UTC) == icalendars_own(data).astimezone(UTC)
    assert b"TZID=W. Europe Standard Time" in read_calendar(data).to_ical()


def test_a_vtimezone_changing_at_another_hour_keeps_its_own_definition() -> None:
    """Lotus Domino's "Romance": the October change at 02:00 summer time, an hour before
    Paris. No IANA zone keeps that time, so its own definition is kept — and on the change
    night the times are its times."""
    domino = [
        line.replace("DTSTART:16010101T030000", "DTSTART:19501029T020000")
        for line in OUTLOOK_CET
        if not line.startswith("TZID")
    ]
    domino.insert(1, "TZID:Romance")
    data = with_zone(domino, "Romance", "20271030T023000")
    value = master(data).decoded("DTSTART")
    assert getattr(value.tzinfo, "key", None) is None
    ours = [
        o.start for o in expand(data, "zone@acme.example", *WINDOW_2027, default_timezone="UTC")
    ]
    own = icalendars_own(data)
    assert ours == [(own + timedelta(days=n)).astimezone(UTC) for n in range(3)]
    assert ours[1] == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # Paris: still 00:30 summer


WINDOW_2027 = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def test_no_time_moves_when_a_vtimezone_is_read_as_an_iana_zone() -> None:
    """Every DTSTART and DTEND of every corpus and fixture calendar: the instant we read is
    the instant icalendar reads from the VTIMEZONE as written."""
    import warnings

    from icalendar import Calendar, GloballyUniqueTZIDGuessed

    from calendar_sync.ical import _forget_custom_zones

    compared = 0
    for name, data in _real_calendars():
        try:
            ours = read_calendars(data)
        except CalendarError:
            continue
        _forget_custom_zones()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)  # Evolution's TZIDs
            theirs = Calendar.from_ical(data, multiple=True)
        for mine, raw in zip(ours, theirs, strict=True):
            for a, b in zip(mine.walk("VEVENT"), raw.walk("VEVENT"), strict=True):
                for prop in ("DTSTART", "DTEND"):
                    try:
                        value = b.decoded(prop) if b.get(prop) is not None else None
                    except Exception:  # noqa: S112 - unreadable: normalize decides
                        continue
                    if isinstance(value, datetime) and value.tzinfo is not None:
                        assert a.decoded(prop).astimezone(UTC) == value.astimezone(UTC), name
                        compared += 1
    assert compared > 200


def test_a_series_expands_alike_from_its_text_and_from_the_calendar_in_hand() -> None:
    """The intake expands a new series from the calendar it has just read; later changes
    read the stored text. Both must give the same occurrences."""
    from calendar_sync.merge import series_calendar, uids_in

    compared = 0
    for name, data in _real_calendars():
        try:
            calendars = read_calendars(data)
        except CalendarError:
            continue
        for mended in calendars:
            for uid in uids_in(mended)[:10]:  # a holiday file has hundreds
                series = series_calendar(mended, uid)
                try:
                    begins = [e.start for e in parse_calendar(series.to_ical()).events if e.start]
                except CalendarError:  # a series we would refuse (no DTSTART, …)
                    continue
                if not begins:
                    continue
                window = (min(begins) - timedelta(days=1), min(begins) + timedelta(days=90))
                try:
                    in_hand = expand(series, uid, *window, default_timezone="Europe/Stockholm")
                except CalendarError:
                    continue
                text = series.to_ical()
                assert expand(text, uid, *window, default_timezone="Europe/Stockholm") == (
                    in_hand
                ), name
                compared += 1
    assert compared > 150
