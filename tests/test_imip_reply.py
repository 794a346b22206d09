"""The agent accepts a new meeting with an iMIP REPLY the organizer's calendar understands
(RFC 5546 §3.2.3 in an RFC 6047 mail): once per series, to the organizer, with a link to the
meeting's page."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from icalendar import Calendar

from core.types import Role
from outbox.imip import Reply, reply_calendar
from store import companies, meetings, outbound
from tests.conftest import NOW
from tests.support import assert_snapshot, text_body
from tests.trust_support import deliver, invitation, mails

ANNA = "anna@acme.example"


def own_invitation(acme: str, **overrides: Any) -> bytes:
    values: dict[str, Any] = {
        "organizer": ANNA,
        "organizer_name": "Anna Berg",
        "attendees": [("erik@acme.example", "Erik Lind")],
        "title": "Styrgrupp",
        "uid": "styrgrupp-1@acme.example",
        "message_id": "<styrgrupp-1@acme.example>",
    }
    return invitation(acme, **(values | overrides))


def calendar_of(mail: EmailMessage) -> Calendar:
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REPLY"
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF kept
    return Calendar.from_ical(data)


def test_a_new_meeting_is_accepted_with_an_imip_reply(app: Any, acme: str) -> None:
    deliver(app, acme, own_invitation(acme), mail_from=ANNA)

    [mail] = mails(app, "imip-reply")
    assert mail["To"] == ANNA
    assert mail["From"].addresses[0].addr_spec == acme
    assert mail["In-Reply-To"] == "<styrgrupp-1@acme.example>"
    assert mail["Subject"] == "Accepterat: Styrgrupp"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    calendar = calendar_of(mail)
    assert calendar["METHOD"] == "REPLY"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == "styrgrupp-1@acme.example"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["ORGANIZER"]) == f"mailto:{ANNA}"
    attendees = event["ATTENDEE"]
    assert not isinstance(attendees, list)  # exactly one: the agent
    assert str(attendees) == f"mailto:{acme}"
    assert attendees.params["PARTSTAT"] == "ACCEPTED"
    assert "RECURRENCE-ID" not in event
    comment = str(event["COMMENT"])
    assert comment.startswith("Kollegan deltar. ")
    url = comment.rsplit(" ", 1)[1]
    assert url.startswith("http://127.0.0.1:8000/m/")
    assert url in text_body(mail)
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        assert app.links.read_meeting_page(url.rsplit("/", 1)[1], now=NOW) == meeting.series_id


def test_an_update_is_not_accepted_again(app: Any, acme: str) -> None:
    deliver(app, acme, own_invitation(acme), mail_from=ANNA)
    moved = own_invitation(
        acme, start=NOW + timedelta(days=5), sequence=1, message_id="<styrgrupp-2@acme.example>"
    )
    deliver(app, acme, moved, mail_from=ANNA)

    with app.db.reader() as session:
        assert len(outbound.list_outbound(session, kind="imip-reply")) == 1
    assert len(mails(app, "imip-reply")) == 1


def test_an_english_organizer_gets_it_in_english(app: Any, acme: str) -> None:
    with app.db.session() as session:
        company = companies.get_company_by_slug(session, "acme")
        companies.add_member(session, company, ANNA, Role.OWNER, NOW)
        companies.find_user(session, ANNA).locale = "en"  # type: ignore[union-attr]
    deliver(app, acme, own_invitation(acme), mail_from=ANNA)

    [mail] = mails(app, "imip-reply")
    assert mail["Subject"] == "Accepted: Styrgrupp"
    [event] = calendar_of(mail).walk("VEVENT")
    assert str(event["COMMENT"]).startswith("Kollegan attends. ")
    assert "http://127.0.0.1:8000/m/" in text_body(mail)


def test_a_recurring_series_is_accepted_once_as_a_whole(app: Any, acme: str) -> None:
    deliver(app, acme, weekly_series(acme), mail_from=ANNA)

    with app.db.reader() as session:
        assert len(meetings.list_meetings(session)) > 1  # its occurrences
    [mail] = mails(app, "imip-reply")
    [event] = calendar_of(mail).walk("VEVENT")
    assert event["UID"] == "veckomote@acme.example"
    assert event["SEQUENCE"] == 2  # the series'
    assert "RECURRENCE-ID" not in event
    assert "RRULE" not in event
    assert "mötesserien" in text_body(mail)


def weekly_series(agent: str) -> bytes:
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:veckomote@acme.example\r\nSEQUENCE:2\r\n"
        "DTSTAMP:20261124T120000Z\r\nDTSTART:20261130T090000Z\r\nDTEND:20261130T100000Z\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=6\r\nSUMMARY:Veckomöte\r\n"
        "ORGANIZER;CN=Anna Berg:mailto:anna@acme.example\r\n"
        f"ATTENDEE;CN=Kollegan;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{agent}\r\n"
        "END:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:veckomote@acme.example\r\nSEQUENCE:2\r\n"
        "RECURRENCE-ID:20261207T090000Z\r\n"
        "DTSTAMP:20261124T120000Z\r\nDTSTART:20261207T130000Z\r\nDTEND:20261207T140000Z\r\n"
        "SUMMARY:Veckomöte (flyttat)\r\nORGANIZER;CN=Anna Berg:mailto:anna@acme.example\r\n"
        f"ATTENDEE;CN=Kollegan;PARTSTAT=NEEDS-ACTION:mailto:{agent}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return (
        f"From: Anna Berg <{ANNA}>\r\nTo: {agent}\r\nSubject: Veckomöte\r\n"
        "Message-ID: <veckomote@acme.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/calendar; method=REQUEST; charset="utf-8"\r\n\r\n' + calendar
    ).encode()


def test_the_reply_calendar_matches_its_snapshot() -> None:
    data = reply_calendar(
        Reply(
            uid="snap-1@acme.example",
            sequence=3,
            organizer="anna@acme.example",
            organizer_name="Anna Berg",
            attendee="acme.abcdefghijkm@kollegan.test",
            attendee_name="Kollegan (Acme AB)",
            partstat="ACCEPTED",
            summary="Styrgrupp <Q4> & budget",
            comment="Kollegan deltar. Vad Kollegan gör med mötet, och hur den tas bort: "
            "https://kollegan.example.com/m/token",
            dtstamp=NOW,
        )
    )
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and len(line) <= 75 for line in lines)
    assert_snapshot("imip-reply.calendar.txt", data.decode("utf-8").replace("\r\n", "\n"))
