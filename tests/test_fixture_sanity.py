"""The test data itself is sound: our invitation fixtures say what EXPECTED.json says, and every
corpus file named in ``conformance_expected`` exists.

No ``calendar_sync`` here: these checks use Python's email package, icalendar and
recurring_ical_events directly, so they judge the data, not the implementation.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events  # type: ignore[import-untyped]
from icalendar.timezone import tzp

from tests.conformance_expected import EXPECTED as CORPUS_EXPECTED
from tests.conformance_expected import REFUSED
from tests.conftest import CORPUS

FIXTURES = Path(__file__).parent / "fixtures" / "invitations"
MANIFEST: dict[str, Any] = json.loads((FIXTURES / "EXPECTED.json").read_text(encoding="utf-8"))
FILES: dict[str, dict[str, Any]] = MANIFEST["files"]
AGENT = "acme@kollegan.test"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture(autouse=True)
def _fresh_timezone_cache() -> Iterator[None]:
    """icalendar 7.3 keeps custom VTIMEZONEs by TZID for the whole process, first one wins, so a
    'Customized Time Zone' parsed by another test would decide this one's offsets."""
    cache = getattr(tzp, "_TZP__tz_cache", None)
    if isinstance(cache, dict):
        cache.clear()
    yield


def load(name: str) -> EmailMessage:
    raw = (FIXTURES / name).read_bytes().replace(b"AGENT_ADDRESS", AGENT.encode())
    return email.message_from_bytes(raw, policy=policy.default)


def calendar_parts(message: EmailMessage) -> list[bytes]:
    parts = []
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append(payload)
    return parts


def substituted(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("AGENT_ADDRESS", AGENT)
    if isinstance(value, list):
        return [substituted(v) for v in value]
    return value


def utc(value: date | datetime) -> str:
    """UTC ISO instant; all-day dates and floating times are read in Europe/Stockholm."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=STOCKHOLM)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=STOCKHOLM)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def address(value: object) -> str:
    return str(value).removeprefix("mailto:").removeprefix("MAILTO:").lower()


def first_event(calendar: icalendar.Calendar) -> icalendar.Event:
    events = calendar.walk("VEVENT")
    assert events, "no VEVENT"
    return cast(icalendar.Event, events[0])


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_matches_manifest(name: str) -> None:
    want = {key: substituted(value) for key, value in FILES[name].items()}
    raw = (FIXTURES / name).read_bytes()
    message = load(name)

    assert address(email.utils.parseaddr(str(message["From"]))[1]) == want["from"]
    assert message["Message-ID"] and message["Date"]
    assert AGENT in str(message["To"]), "the agent's address must be in To"
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings throughout"

    parts = calendar_parts(message)
    assert parts, "no text/calendar part"
    assert len(set(parts)) == 1, "inline calendar and attachment must agree"
    data = parts[0]
    assert b"AGENT_ADDRESS" not in data, "the placeholder must be replaceable in the raw bytes"
    assert b"\n" not in data.replace(b"\r\n", b""), "iCalendar needs CRLF"
    assert max(len(line) for line in data.split(b"\r\n")) <= 75, "fold at 75 octets"

    calendar = icalendar.Calendar.from_ical(data)
    event = first_event(calendar)
    assert str(calendar.get("METHOD", "")) == want["method"]
    assert str(event.get("UID", "")) == want["uid"]
    assert str(event.get("SUMMARY", "")) == want["title"]
    assert int(event.get("SEQUENCE", 0)) == want["sequence"]
    assert address(event.get("ORGANIZER")) == want["organizer"]
    attendees = event.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [address(a) for a in attendees] == want["attendees"]

    start = event.get("DTSTART")
    assert (utc(start.dt) if start else None) == want["start_utc"]
    end = event.get("DTEND")
    assert (utc(end.dt) if end else None) == want["end_utc"]
    assert (start is not None and not isinstance(start.dt, datetime)) == want["all_day"]
    recurrence_id = event.get("RECURRENCE-ID")
    assert (utc(recurrence_id.dt) if recurrence_id else None) == want["recurrence_id"]
    assert ("RRULE" in event or "RDATE" in event) == want["recurring"]
    if want["join_url"]:
        assert want["join_url"] in event.to_ical().decode().replace("\r\n ", "").replace("\\,", ",")
    if want["timezone"]:
        tzid = start.params.get("TZID") if start else None
        assert tzid is None or tzid in (want["timezone"], "W. Europe Standard Time")


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_occurrences_match_recurring_ical_events(name: str) -> None:
    want = FILES[name]
    calendar = icalendar.Calendar.from_ical(calendar_parts(load(name))[0])
    if "DTSTART" not in first_event(calendar):  # REFRESH: nothing to expand
        assert want["occurrences"] == []
        return
    first, last = MANIFEST["window"]
    begin, end = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (first, last))
    occurrences = recurring_ical_events.of(calendar).between(begin, end)
    starts = [
        utc(o["DTSTART"].dt)
        for o in occurrences
        if str(o.get("UID")) == want["uid"] and str(o.get("STATUS", "")).upper() != "CANCELLED"
    ]
    if str(calendar.get("METHOD", "")) == "CANCEL":
        starts = []  # a CANCEL message schedules nothing
    assert sorted(s for s in starts if first <= s < last) == want["occurrences"]


def test_cancellations_say_what_they_cancel() -> None:
    for name, want in FILES.items():
        if want["method"] != "CANCEL":
            assert "cancels" not in want, name
            continue
        event = first_event(icalendar.Calendar.from_ical(calendar_parts(load(name))[0]))
        recurrence_id = event.get("RECURRENCE-ID")
        assert want["cancels"] == ([utc(recurrence_id.dt)] if recurrence_id else "all"), name


def test_one_invitation_comes_from_outside_the_verified_domain() -> None:
    outsiders = [n for n, w in FILES.items() if not w["from"].endswith("@acme.se")]
    assert outsiders == ["webex_request.eml"]


def test_every_fixture_file_is_in_the_manifest() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.eml")) == sorted(FILES)


# -- the corpus table -------------------------------------------------------------------------


def corpus_calendar(relative: str) -> bytes | None:
    path = CORPUS / relative
    if path.suffix == ".ics":
        return path.read_bytes()
    message = email.message_from_bytes(path.read_bytes(), policy=policy.compat32)
    for part in message.walk():
        filename = (part.get_filename() or "").lower()
        if part.get_content_type() in ("text/calendar", "application/ics") or filename.endswith(
            ".ics"
        ):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                return payload
    return None


@pytest.mark.parametrize("entry", CORPUS_EXPECTED, ids=lambda e: e["file"])
def test_corpus_entry_exists_and_names_the_right_event(entry: dict[str, Any]) -> None:
    assert (CORPUS / entry["file"]).is_file()
    data = corpus_calendar(entry["file"])
    assert data is not None
    try:
        calendar = icalendar.Calendar.from_ical(data, multiple=True)[0]
    except ValueError:  # the entries icalendar refuses are marked in their note
        assert "LIBRARY DISAGREES" in entry.get("note", "")
        return
    event = first_event(calendar)
    assert str(calendar.get("METHOD", "")) == entry["method"]
    assert str(event.get("UID", "")) == entry["uid"]
    assert str(event.get("SUMMARY", "")) == entry["title"]


def test_refused_corpus_files_exist_and_are_not_expected() -> None:
    expected = {e["file"] for e in CORPUS_EXPECTED}
    for relative in REFUSED:
        assert (CORPUS / relative).is_file(), relative
        assert relative not in expected, relative
    assert len(expected) == len(CORPUS_EXPECTED), "one entry per file"
