"""The pre-brief: when it is sent, what it says (snapshots in sv and en), who gets it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.meeting_mail import agenda_text, meeting_context
from agent.prebrief import prebrief_send_at
from agent.readers import Reader, reader_zone
from outbox.render import Renderer
from store.models import Attendee, Meeting
from tests.conftest import NOW
from tests.support import assert_snapshot

LEAD = timedelta(hours=24)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (NOW + timedelta(days=3), NOW + timedelta(days=2)),  # start − lead
        (NOW + timedelta(hours=2), NOW),  # closer than the lead: at once
        (NOW + timedelta(hours=24), NOW),  # exactly the lead
        (NOW, None),  # started: no pre-brief
        (NOW - timedelta(hours=1), None),
    ],
)
def test_send_time(start: datetime, expected: datetime | None) -> None:
    assert prebrief_send_at(start, LEAD, NOW) == expected


@pytest.mark.parametrize(
    ("own", "invitation", "expected"),
    [
        ("America/New_York", "Europe/Stockholm", "America/New_York"),
        (None, "Europe/Helsinki", "Europe/Helsinki"),
        (None, "UTC", "Europe/Stockholm"),  # a UTC-only invitation: the company's zone
    ],
)
def test_reader_zone(own: str | None, invitation: str, expected: str) -> None:
    assert reader_zone(own, invitation, "Europe/Stockholm") == expected


def test_agenda_drops_the_join_boilerplate() -> None:
    description = (
        "1. Budget\r\n2. Rekrytering\r\n\r\n\r\n\r\n"
        "________________________________________________________________________________\r\n"
        "Microsoft Teams-möte\r\nAnslut på datorn: https://teams.microsoft.com/l/meetup-join/x\r\n"
    )
    assert agenda_text(description) == "1. Budget\n2. Rekrytering"
    assert agenda_text("") == ""
    assert agenda_text("x" * 5000).endswith("…")


def _meeting() -> Meeting:
    meeting = Meeting(
        uid="snap-1@acme.example",
        title="Styrgrupp <Q4> & budget",
        description="1. Utfall\n2. Budget 2027",
        location="Rum Oden",
        organizer_email="anna@acme.example",
        organizer_name="Anna Berg",
        start=datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
        end=datetime(2026, 12, 1, 14, 30, tzinfo=UTC),
        timezone="Europe/Stockholm",
        all_day=False,
        join_url="https://teams.microsoft.com/l/meetup-join/19%3ameeting_snap",
    )
    meeting.attendees = [
        Attendee(email="erik@acme.example", name="Erik Lind", partstat="ACCEPTED", position=0),
        Attendee(email="sara@partner.example", name=None, partstat="TENTATIVE", position=1),
        Attendee(email="acme.abcdefghijkm@kollegan.test", name="Kollegan", position=2),
    ]
    return meeting


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_rendered_prebrief_matches_its_snapshots(locale: str) -> None:
    reader = Reader("anna@acme.example", "Anna Berg", locale, "Europe/Stockholm")
    context: dict[str, Any] = meeting_context(
        _meeting(), reader, "acme.abcdefghijkm@kollegan.test", "kollegan.test"
    )
    mail = Renderer().render("pre-brief", locale, context)
    assert "Kollegan <" not in mail.text  # the agent is not listed as an attendee
    assert_snapshot(f"pre-brief.{locale}.subject", mail.subject + "\n")
    assert_snapshot(f"pre-brief.{locale}.txt", mail.text)
    assert_snapshot(f"pre-brief.{locale}.html", mail.html)


def test_html_is_escaped() -> None:
    reader = Reader("anna@acme.example", "Anna", "sv", "Europe/Stockholm")
    context = meeting_context(_meeting(), reader, "a@kollegan.test", "kollegan.test")
    mail = Renderer().render("pre-brief", "sv", context)
    assert "Styrgrupp &lt;Q4&gt; &amp; budget" in mail.html
    assert "Styrgrupp <Q4> & budget" in mail.text


def test_times_are_shown_in_the_readers_zone() -> None:
    reader = Reader("anna@acme.example", "Anna", "en", "America/New_York")
    context = meeting_context(_meeting(), reader, "a@kollegan.test", "kollegan.test")
    mail = Renderer().render("pre-brief", "en", context)
    assert "Tuesday 1 December 2026, 08:00–09:30 (America/New_York)" in mail.text


def test_unknown_language_falls_back_to_swedish() -> None:
    reader = Reader("anna@acme.example", "Anna", "fi", "Europe/Stockholm")
    context = meeting_context(_meeting(), reader, "a@kollegan.test", "kollegan.test")
    assert Renderer().render("pre-brief", "fi", context).subject.startswith("Inför mötet")
