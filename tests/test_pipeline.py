"""The e-mail loop end to end: invitation by SMTP → stored → meeting → pre-brief in the Maildir."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from core.types import InboundStatus, MeetingStatus, OutboundStatus
from kollegan.samples import sample_invitation
from store import inbound, meetings, outbound
from tests.conftest import NOW
from tests.support import maildir_messages, running_intake, settle, text_body

ORGANIZER = "anna@acme.example"
TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"


def invitation(to: str, **overrides: Any) -> bytes:
    values: dict[str, Any] = {
        "to": to,
        "organizer": ORGANIZER,
        "organizer_name": "Anna Berg",
        "attendees": [("erik@acme.example", "Erik Lind"), ("sara@partner.example", "Sara")],
        "title": "Styrgrupp",
        "start": NOW + timedelta(hours=2),
        "agenda": "1. Budget\n2. Beslut",
        "join_url": TEAMS,
        "uid": "meeting-1@acme.example",
        "now": NOW,
        "message_id": "<inv-1@acme.example>",
    }
    values.update(overrides)
    return sample_invitation(**values)


def kind_of(mails: list[EmailMessage], kind: str) -> list[EmailMessage]:
    return [mail for mail in mails if mail["X-Kollegan-Kind"] == kind]


def send(host: str, port: int, to: str, raw: bytes, mail_from: str = ORGANIZER) -> None:
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail(mail_from, [to], raw)


def test_invitation_by_smtp_becomes_a_meeting_and_a_prebrief(app: Any, acme: str) -> None:
    with running_intake(app) as (host, port):
        send(host, port, acme, invitation(acme))

        settle(app)
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.status == InboundStatus.PROCESSED, row.reason
        assert row.command == "invitation"
        assert row.sender_trusted is True
        [meeting] = meetings.list_meetings(session)
        assert meeting.title == "Styrgrupp"
        assert meeting.start == NOW + timedelta(hours=2)
        assert meeting.timezone == "Europe/Stockholm"
        assert meeting.join_url == TEAMS
        assert meeting.organizer_email == ORGANIZER
        assert meeting.status == MeetingStatus.SCHEDULED
        [brief] = outbound.list_outbound(session, kind="pre-brief")
        assert brief.recipients == [ORGANIZER]
        assert brief.status == OutboundStatus.SENT
        assert brief.send_at == NOW  # closer than the 24 h lead time: at once
        [accepted] = outbound.list_outbound(session, kind="imip-reply")  # the agent's REPLY
        assert accepted.recipients == [ORGANIZER]
        assert accepted.status == OutboundStatus.SENT

    [mail] = kind_of(maildir_messages(app.settings.maildir_path), "pre-brief")
    assert mail["To"] == ORGANIZER
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["In-Reply-To"] == "<inv-1@acme.example>"
    assert mail["From"].addresses[0].addr_spec == acme
    body = text_body(mail)
    assert "Styrgrupp" in body
    assert "onsdag 25 november 2026 kl. 11:00" in body  # 09:00 UTC in Stockholm
    assert "Erik Lind <erik@acme.example> – har inte svarat" in body
    assert TEAMS in body
    assert "1. Budget" in body
    assert "Kollegan" in mail["From"]


def test_same_message_twice_has_one_effect(app: Any, acme: str) -> None:
    raw = invitation(acme)
    with running_intake(app) as (host, port):
        send(host, port, acme, raw)
        send(host, port, acme, raw)
        settle(app)
    with app.db.reader() as session:
        assert len(inbound.list_inbound(session)) == 1
        assert len(meetings.list_meetings(session)) == 1
        assert sorted(r.kind for r in outbound.list_outbound(session)) == [
            "imip-reply",
            "pre-brief",
        ]
    assert len(maildir_messages(app.settings.maildir_path)) == 2


def test_update_with_higher_sequence_moves_the_meeting(app: Any, acme: str) -> None:
    later = NOW + timedelta(days=3)
    with running_intake(app) as (host, port):
        send(host, port, acme, invitation(acme, start=NOW + timedelta(days=2)))
        settle(app)
        send(
            host,
            port,
            acme,
            invitation(acme, start=later, sequence=1, message_id="<inv-2@acme.example>"),
        )
        settle(app)
        # an old copy arriving late changes nothing
        send(
            host,
            port,
            acme,
            invitation(
                acme, start=NOW + timedelta(days=5), sequence=0, message_id="<inv-0@acme.example>"
            ),
        )
        settle(app)
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        assert meeting.start == later
        assert meeting.sequence == 1
        [brief] = outbound.list_outbound(session, kind="pre-brief")
        assert brief.status == OutboundStatus.SCHEDULED
        assert brief.send_at == later - timedelta(hours=24)
        statuses = [r.reason for r in inbound.list_inbound(session)]
        assert any("stale" in (reason or "") for reason in statuses)


def test_cancelled_meeting_gets_no_prebrief(app: Any, acme: str) -> None:
    start = NOW + timedelta(days=2)
    cancel = invitation(acme, start=start, sequence=1, message_id="<cancel@acme.example>")
    cancel = cancel.replace(b"METHOD:REQUEST", b"METHOD:CANCEL")
    with running_intake(app) as (host, port):
        send(host, port, acme, invitation(acme, start=start))
        settle(app)
        send(host, port, acme, _recode_calendar(cancel))
        settle(app)
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        assert meeting.status == MeetingStatus.CANCELLED
        [brief] = outbound.list_outbound(session, kind="pre-brief")
        assert brief.status == OutboundStatus.CANCELLED


def _recode_calendar(raw: bytes) -> bytes:
    """sample_invitation base64-encodes the calendar; turn REQUEST into CANCEL inside it."""
    import base64
    from email import message_from_bytes
    from email.policy import SMTP

    message: Any = message_from_bytes(raw, policy=SMTP)
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            data = part.get_payload(decode=True).replace(b"METHOD:REQUEST", b"METHOD:CANCEL")
            part.set_payload(base64.encodebytes(data).decode())
            part.set_param("method", "CANCEL")
    return bytes(message.as_bytes())


def test_plain_mail_without_a_command_is_held_not_dropped(app: Any, acme: str) -> None:
    raw = (
        b"From: anna@acme.example\r\nTo: " + acme.encode() + b"\r\nSubject: hej\r\n"
        b"Message-ID: <plain@acme.example>\r\n\r\nBara en fraga.\r\n"
    )
    with running_intake(app) as (host, port):
        send(host, port, acme, raw)
        settle(app)
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.status == InboundStatus.HELD
        assert row.reason == "no command understood this message"


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        (b"Auto-Submitted: auto-replied\r\n", "auto-submitted"),
        (b"Precedence: bulk\r\n", "auto-submitted"),
        (b"X-Kollegan-Kind: pre-brief\r\n", "own-mail"),
    ],
)
def test_acceptance_rules_reject_and_record_hits(
    app: Any, acme: str, headers: bytes, rule: str
) -> None:
    raw = (
        b"From: anna@acme.example\r\nTo: " + acme.encode() + b"\r\nSubject: Out of office\r\n"
        b"Message-ID: <auto@acme.example>\r\n" + headers + b"\r\nI am away.\r\n"
    )
    with running_intake(app) as (host, port):
        send(host, port, acme, raw)
        settle(app)
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.status == InboundStatus.REJECTED
        assert row.rule_hits[0] == rule
    assert maildir_messages(app.settings.maildir_path) == []
