"""Our own invitations (tests/fixtures/invitations/, EXPECTED.json written by hand) from
Swedish Outlook/Teams, Google Meet, iCloud, Thunderbird, Zoom and Webex — updates, replies,
counters, cancellations of one occurrence and of a series — each end to end through the
SMTP intake, and the hidden ones (tests/fixtures/hidden/: forwards, winmail.dat, S/MIME)."""

from __future__ import annotations

import json
import smtplib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.types import InboundStatus, MeetingStatus
from kollegan.app import App
from store import inbound, meetings, outbound
from store.models import CalendarEvent, Meeting
from tests.support import create_company, running_intake, settle

FIXTURES = Path(__file__).parent / "fixtures" / "invitations"
HIDDEN = Path(__file__).parent / "fixtures" / "hidden"
MANIFEST = json.loads((FIXTURES / "EXPECTED.json").read_text(encoding="utf-8"))
FILES: dict[str, dict[str, Any]] = MANIFEST["files"]
PLACEHOLDER = MANIFEST["agent_placeholder"].encode()
TRUSTED_REQUESTS = [
    name
    for name, facts in FILES.items()
    if facts["method"] == "REQUEST"
    and facts["from"].endswith("@acme.se")
    and facts["sequence"] == 0
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def company(app: App) -> str:
    return create_company(
        app, name="Acme AB", slug="acme", domains=("acme.se",), admin="anna.bergstrom@acme.se"
    )


def deliver(app: App, address: str, *names: str, folder: Path = FIXTURES) -> None:
    """Each file through the SMTP intake, in order, each processed before the next."""
    with running_intake(app) as (host, port), smtplib.SMTP(host, port, timeout=10) as client:
        for name in names:
            raw = (folder / name).read_bytes().replace(PLACEHOLDER, address.encode())
            sender = FILES.get(name, {}).get("from", "anna.bergstrom@acme.se")
            client.sendmail(sender, [address], raw)
            settle(app)


def at(app: App, moment: str | datetime) -> None:
    app.clock.set(utc(moment) if isinstance(moment, str) else moment)  # type: ignore[attr-defined]


def rows(app: App, uid: str) -> list[Meeting]:
    with app.db.reader() as session:
        return [m for m in meetings.list_meetings(session, limit=1000) if m.uid == uid]


def statuses(app: App) -> list[str]:
    with app.db.reader() as session:
        return [r.status for r in inbound.list_inbound(session, limit=1000)]


@pytest.mark.parametrize("name", TRUSTED_REQUESTS)
def test_each_invitation_becomes_the_meeting_it_describes(
    app: App, company: str, name: str
) -> None:
    facts = FILES[name]
    start = utc(facts["start_utc"])
    at(app, start - timedelta(days=3))
    deliver(app, company, name)
    assert statuses(app) == [InboundStatus.PROCESSED]
    found = rows(app, facts["uid"])
    expected_starts = [utc(s) for s in facts.get("occurrences") or [facts["start_utc"]]]
    horizon = app.clock.now() + timedelta(days=60)
    expected_starts = (
        [s for s in expected_starts if s < horizon] if facts["recurring"] else (expected_starts)
    )
    assert [m.start for m in found] == expected_starts
    first = found[0]
    assert first.title == facts["title"]
    assert first.end - first.start == utc(facts["end_utc"]) - start
    assert first.all_day == facts["all_day"]
    if facts["timezone"]:
        assert first.timezone == facts["timezone"]
    assert first.join_url == facts["join_url"]
    assert first.organizer_email == facts["organizer"]
    expected_attendees = {a for a in facts["attendees"] if a != "AGENT_ADDRESS"}
    assert {a.email for a in first.attendees} - {company} == expected_attendees
    with app.db.reader() as session:
        briefs = outbound.list_outbound(session, kind="pre-brief")
        assert {b.meeting_id for b in briefs} == {m.id for m in found}


def test_outlook_update_moves_the_meeting_and_cancel_cancels_it(app: App, company: str) -> None:
    request, update = FILES["outlook_teams_request.eml"], FILES["outlook_teams_update.eml"]
    at(app, "2026-11-25T08:00:00Z")
    deliver(app, company, "outlook_teams_request.eml", "outlook_teams_update.eml")
    [meeting] = rows(app, request["uid"])
    assert (meeting.start, meeting.sequence) == (utc(update["start_utc"]), 1)
    deliver(app, company, "outlook_teams_request.eml")  # the very same mail again: stored once
    [meeting] = rows(app, request["uid"])
    assert meeting.start == utc(update["start_utc"])
    deliver(app, company, "outlook_teams_cancel.eml")
    [meeting] = rows(app, request["uid"])
    assert meeting.status == MeetingStatus.CANCELLED
    with app.db.reader() as session:
        [brief] = outbound.list_outbound(session, kind="pre-brief")
        assert brief.status == "cancelled"
        outcomes = [e.outcome for e in session.query(CalendarEvent).order_by(CalendarEvent.id)]
    assert outcomes == ["applied", "applied", "cancelled"]
    assert len(statuses(app)) == 3


def test_reply_and_counter_are_recorded(app: App, company: str) -> None:
    at(app, "2026-11-25T08:00:00Z")
    deliver(
        app,
        company,
        "outlook_teams_request.eml",
        "outlook_teams_update.eml",
        "outlook_reply_accepted.eml",
        "outlook_counter.eml",
    )
    [meeting] = rows(app, FILES["outlook_teams_request.eml"]["uid"])
    answers = {a.email: a.partstat for a in meeting.attendees}
    assert answers["sofia.lundqvist@acme.se"] == "ACCEPTED"
    assert meeting.start == utc(FILES["outlook_teams_update.eml"]["start_utc"])  # COUNTER: no move
    with app.db.reader() as session:
        methods = [(e.method, e.outcome) for e in session.query(CalendarEvent)]
    assert ("REPLY", "applied") in methods and ("COUNTER", "recorded") in methods


def test_series_across_dst_then_one_occurrence_then_all_cancelled(app: App, company: str) -> None:
    series = FILES["outlook_series_request.eml"]
    at(app, "2027-03-01T06:00:00Z")
    deliver(app, company, "outlook_series_request.eml")
    horizon = app.clock.now() + timedelta(days=60)
    expected = [utc(s) for s in series["occurrences"] if utc(s) < horizon]
    assert [m.start for m in rows(app, series["uid"])] == expected
    assert {m.start.hour for m in rows(app, series["uid"])} == {7, 8}  # 09:00 CET and CEST
    deliver(app, company, "itip_add.eml", "itip_refresh.eml")  # recorded, nothing changes
    assert [m.start for m in rows(app, series["uid"])] == expected
    cancelled_one = FILES["outlook_series_cancel_occurrence.eml"]
    deliver(app, company, "outlook_series_cancel_occurrence.eml")
    by_start = {m.start: m.status for m in rows(app, series["uid"])}
    assert by_start[utc(cancelled_one["recurrence_id"])] == MeetingStatus.CANCELLED
    assert sum(1 for s in by_start.values() if s == MeetingStatus.CANCELLED) == 1
    at(app, "2027-03-20T06:00:00Z")  # some occurrences are past when the series ends
    deliver(app, company, "outlook_series_cancel.eml")
    for meeting in rows(app, series["uid"]):
        if meeting.start < app.clock.now() - timedelta(hours=12):
            assert meeting.status != MeetingStatus.CANCELLED  # what happened, happened
        else:
            assert meeting.status == MeetingStatus.CANCELLED


def test_google_meet_update(app: App, company: str) -> None:
    at(app, "2026-11-25T08:00:00Z")
    deliver(app, company, "google_meet_request.eml", "google_meet_update.eml")
    [meeting] = rows(app, FILES["google_meet_request.eml"]["uid"])
    assert meeting.start == utc(FILES["google_meet_update.eml"]["start_utc"])
    assert meeting.join_url == "https://meet.google.com/qvr-hxbn-tke"


HIDDEN_CASES = [
    # file, title, UTC start, organizer, who gets the brief (a partner's invitation that
    # bo@acme.example forwarded: the brief goes to Bo and stays in the company)
    (
        "gmail-inline-forward-sv.eml",
        "Styrelsemöte",
        "2026-12-09T09:00:00Z",
        "anna@partner.example",
        "bo@acme.example",
    ),
    (
        "outlook-forward-attached-sv.eml",
        "Projektmöte Q1",
        "2027-01-12T12:00:00Z",
        "cecilia@partner.example",
        "bo@acme.example",
    ),
    (
        "outlook-winmail-sv.eml",
        "Leverantörsgenomgång",
        "2027-01-20T08:00:00Z",
        "dan@partner.example",
        "dan@partner.example",
    ),
    (
        "smime-multipart-signed.eml",
        "Ledningsgrupp",
        "2027-02-03T07:30:00Z",
        "eva@acme.example",
        "eva@acme.example",
    ),
    (
        "smime-opaque-signed.eml",
        "Kvartalsuppföljning",
        "2027-03-10T13:00:00Z",
        "eva@acme.example",
        "eva@acme.example",
    ),
]


@pytest.mark.parametrize(("name", "title", "start", "organizer", "briefed"), HIDDEN_CASES)
def test_hidden_invitations_become_meetings(
    app: App, name: str, title: str, start: str, organizer: str, briefed: str
) -> None:
    from core.types import Role
    from store import companies

    address = create_company(app, domains=("acme.example",), admin="bo@acme.example")
    with app.db.session() as session:  # Dan, at a partner, is a member: his invitations count
        company = companies.get_company_by_slug(session, "acme")
        companies.add_member(session, company, "dan@partner.example", Role.MEMBER, app.clock.now())
    at(app, "2026-11-25T08:00:00Z")
    with running_intake(app) as (host, port), smtplib.SMTP(host, port, timeout=10) as client:
        raw = (HIDDEN / name).read_bytes()
        client.sendmail("sender@acme.example", [address], raw)
        settle(app)
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.status == InboundStatus.PROCESSED, row.reason
        [meeting] = meetings.list_meetings(session)
    assert (meeting.title, meeting.start, meeting.organizer_email) == (title, utc(start), organizer)
    with app.db.reader() as session:
        [brief] = outbound.list_outbound(session, kind="pre-brief")
    assert brief.recipients == [briefed]
