"""calendar_sync.zones: naming the zone an invitation was written in (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from icalendar import Calendar

from calendar_sync.ical import parse_calendar
from calendar_sync.zones import as_zone, is_iana, zone_from_display_name, zone_name

NEAR = datetime(2027, 3, 1, 12, tzinfo=UTC)


def test_iana_names() -> None:
    assert is_iana("Europe/Stockholm")
    assert not is_iana("W. Europe Standard Time")
    assert not is_iana("Customized Time Zone")
    assert not is_iana("../../etc/passwd")
    assert str(as_zone("Europe/Stockholm")) == "Europe/Stockholm"


def test_windows_names_and_unknown_ones() -> None:
    assert str(as_zone("W. Europe Standard Time")) == "Europe/Berlin"
    assert str(as_zone('"FLE Standard Time"')) == "Europe/Kiev"
    assert str(as_zone("Atlantis Standard Time")) == "UTC"
    assert str(as_zone("Atlantis Standard Time", fallback="Europe/Stockholm")) == "Europe/Stockholm"


def test_zone_name_prefers_the_key_then_the_windows_table() -> None:
    stockholm = as_zone("Europe/Stockholm")
    assert zone_name(stockholm, "whatever", NEAR, "UTC") == "Europe/Stockholm"
    assert zone_name(None, "", NEAR, "Europe/Oslo") == "Europe/Oslo"  # floating
    # a tzinfo without a key (icalendar's from a VTIMEZONE), named by Windows
    custom = _custom_zone("W. Europe Standard Time", EUROPE)
    assert zone_name(custom, "W. Europe Standard Time", NEAR, "UTC") == "Europe/Berlin"


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        ("(UTC-05:00) Eastern Time (US and Canada)", "America/New_York"),
        ("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"),
        ("(UTC-04:00) Santiago", "America/Santiago"),
        ("(GMT+09:00) Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
        ("(UTC+01:00) Brussels\\, Copenhagen\\, Madrid\\, Paris", "Europe/Paris"),
        ("W. Europe Standard Time", "Europe/Berlin"),
    ],
)
def test_display_names_with_offsets(display_name: str, expected: str) -> None:
    assert zone_from_display_name(display_name, NEAR, "Europe/Stockholm") == expected


def test_display_name_in_the_southern_hemisphere() -> None:
    """Its standard offset is the smaller one — in July, not January."""
    found = zone_from_display_name("(UTC+10:00) Canberra, Melbourne, Sydney", NEAR, "UTC")
    assert found == "Australia/Sydney"  # Windows' AUS Eastern, not Canberra (first by name)


def test_display_name_naming_the_readers_own_city_gives_the_readers_zone() -> None:
    name = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"
    assert zone_from_display_name(name, NEAR, "Europe/Stockholm") == "Europe/Stockholm"
    assert zone_from_display_name(name, NEAR, "Europe/Rome") == "Europe/Rome"
    # a reader elsewhere gets Windows' meaning of the name (W. Europe Standard Time)
    assert zone_from_display_name(name, NEAR, "America/Chicago") == "Europe/Berlin"


def test_display_name_without_an_offset_is_not_guessed() -> None:
    assert zone_from_display_name("Customized Time Zone", NEAR, "Europe/Stockholm") is None


# -- custom VTIMEZONEs, matched by their offsets ----------------------------------------------

EUROPE = (
    ("+0200", "+0100", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
    ("+0100", "+0200", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
)
SYDNEY = (
    ("+1100", "+1000", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4"),
    ("+1000", "+1100", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=10"),
)
SANTIAGO = (
    ("-0300", "-0400", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4"),
    ("-0400", "-0300", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=9"),
)
Rules = tuple[tuple[str, str, str], tuple[str, str, str]]


def _invitation(tzid: str, rules: Rules, start: str = "20270315T090000") -> bytes:
    (std_from, std_to, std_rule), (dst_from, dst_to, dst_rule) = rules
    quoted = f'"{tzid}"' if any(c in tzid for c in ",;:") else tzid
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
        "METHOD:REQUEST",
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:16010101T030000",
        f"TZOFFSETFROM:{std_from}",
        f"TZOFFSETTO:{std_to}",
        f"RRULE:{std_rule}",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        f"TZOFFSETFROM:{dst_from}",
        f"TZOFFSETTO:{dst_to}",
        f"RRULE:{dst_rule}",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:custom@acme.example",
        "DTSTAMP:20270101T000000Z",
        f"DTSTART;TZID={quoted}:{start}",
        f"DTEND;TZID={quoted}:{start[:9]}100000",
        "SUMMARY:Möte",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


def _custom_zone(tzid: str, rules: Rules) -> tzinfo:
    """The zone icalendar makes of the VTIMEZONE (before we swap in the IANA equivalent)."""
    event = Calendar.from_ical(_invitation(tzid, rules)).walk("VEVENT")[0]
    zone = event.decoded("DTSTART").tzinfo
    assert isinstance(zone, tzinfo)
    assert getattr(zone, "key", None) is None  # icalendar's own, from the VTIMEZONE
    return zone


def _same_offsets(a: str, b: str) -> bool:
    moments = [NEAR + timedelta(days=15 * i) for i in range(-24, 24)]
    za, zb = as_zone(a), as_zone(b)
    return all(m.astimezone(za).utcoffset() == m.astimezone(zb).utcoffset() for m in moments)


@pytest.mark.parametrize("reader", ["Europe/Stockholm", "Europe/Paris", "Europe/Oslo"])
def test_custom_zone_matched_by_offsets_prefers_the_readers_zone(reader: str) -> None:
    event = parse_calendar(
        _invitation("Customized Time Zone", EUROPE), default_timezone=reader
    ).events[0]
    assert event.timezone == reader
    assert event.start == datetime(2027, 3, 15, 8, 0, tzinfo=UTC)


def test_custom_zone_with_other_offsets_than_the_readers() -> None:
    event = parse_calendar(
        _invitation("Customized Time Zone", EUROPE), default_timezone="America/New_York"
    ).events[0]
    assert event.timezone in ("Europe/Stockholm", "Europe/Berlin")  # the first of PREFERRED
    assert _same_offsets(event.timezone, "Europe/Stockholm")


def test_custom_zone_in_the_southern_hemisphere() -> None:
    """Summer time from October to April: 09:00 on 15 March is UTC+11."""
    event = parse_calendar(
        _invitation("Customized Time Zone", SYDNEY), default_timezone="Europe/Stockholm"
    ).events[0]
    assert event.start == datetime(2027, 3, 14, 22, 0, tzinfo=UTC)
    assert event.timezone == "Australia/Sydney"
    winter = parse_calendar(
        _invitation("Customized Time Zone", SYDNEY, start="20270715T090000"),
        default_timezone="Europe/Stockholm",
    ).events[0]
    assert winter.start == datetime(2027, 7, 14, 23, 0, tzinfo=UTC)


def test_custom_zone_named_by_a_display_name_prefers_the_city_named() -> None:
    event = parse_calendar(
        _invitation("(UTC-04:00) Santiago", SANTIAGO), default_timezone="Europe/Stockholm"
    ).events[0]
    assert event.timezone == "America/Santiago"
    assert event.start == datetime(2027, 3, 15, 12, 0, tzinfo=UTC)  # -03:00 in March


def test_custom_zone_that_kept_an_iana_name() -> None:
    event = parse_calendar(_invitation("Europe/Stockholm", EUROPE), default_timezone="UTC").events[
        0
    ]
    assert event.timezone == "Europe/Stockholm"


def test_a_custom_zone_matching_nothing_keeps_its_tzid() -> None:
    odd = (
        ("+0517", "+0513", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
        ("+0513", "+0517", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
    )
    event = parse_calendar(_invitation("Atlantis", odd), default_timezone="UTC").events[0]
    assert event.timezone == "Atlantis"
    assert event.start == datetime(2027, 3, 15, 3, 47, tzinfo=UTC)
