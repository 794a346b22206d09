"""Sender trust for invitations: whose trust counts, what is held, and the one mail that asks.

The rule (calendar_sync/trust.py): a REQUEST or CANCEL changes a company's meetings only when
the person who asked is trusted — the organizer writing directly, or whoever forwarded the
invitation; in both cases the From address. The ORGANIZER inside a calendar never lends its
trust to another sender. Replies are not held (each records only its own attendee's answer).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from calendar_sync.trust import MAX_TOPIC, Asker, Invited, Role, who_asks
from core.addresses import ReplyAddress, decode_address
from core.types import ApprovalStatus, InboundStatus
from store import companies, inbound, meetings
from store.approvals import list_approvals
from tests.conftest import MAIL_DOMAIN, NOW
from tests.support import create_company, text_body
from tests.trust_support import (
    ADMINS,
    MEMBER,
    OUTSIDER,
    add_people,
    deliver,
    inbound_row,
    invitation,
    mails,
    meeting_titles,
    only_approval,
    outbound_kinds,
    send_by_smtp,
    with_from,
)

FORWARD = Path(__file__).parent / "fixtures" / "hidden" / "outlook-forward-attached-sv.eml"


# -- the rule -----------------------------------------------------------------------------------


def event(method: str, organizer: str | None = "anna@acme.example", uid: str = "u1") -> Invited:
    return Invited(method, uid, "Möte", NOW, organizer, None)


@pytest.mark.parametrize(
    ("sender", "forwarded", "events", "role"),
    [
        ("anna@acme.example", False, [event("REQUEST")], Role.ORGANIZER),
        ("Anna@Acme.Example", False, [event("REQUEST")], Role.ORGANIZER),
        ("anna@acme.example", False, [event("CANCEL")], Role.ORGANIZER),
        ("anna@acme.example", False, [event("")], Role.ORGANIZER),  # a bare .ics
        ("anna@acme.example", False, [event("REQUEST", organizer=None)], Role.ORGANIZER),
        # someone else sent the organizer's invitation on: an Outlook "Forward" of a meeting
        ("eve@other.example", False, [event("REQUEST")], Role.FORWARDER),
        ("bo@acme.example", True, [event("REQUEST", "eve@other.example")], Role.FORWARDER),
        # the organizer forwarding their own invitation is still the one who asked
        ("anna@acme.example", True, [event("REQUEST")], Role.FORWARDER),
        (
            "anna@acme.example",
            False,
            [event("REQUEST"), event("REQUEST", "eve@other.example", "u2")],
            Role.FORWARDER,
        ),
        # only what changes meetings needs trust
        ("sara@partner.example", False, [event("REPLY")], None),
        ("sara@partner.example", False, [event("COUNTER"), event("REFRESH")], None),
        ("eve@other.example", False, [event("PUBLISH"), event("ADD")], None),
        ("eve@other.example", False, [event("REPLY"), event("REQUEST")], Role.FORWARDER),
        ("eve@other.example", False, [], None),
    ],
)
def test_whose_trust_an_invitation_needs(
    sender: str, forwarded: bool, events: list[Invited], role: Role | None
) -> None:
    asker = who_asks(sender, forwarded, events)
    if role is None:
        assert asker is None
        return
    assert asker is not None
    assert asker.role is role
    assert asker.email == sender.lower()  # always the From address: who asked


def test_the_topic_is_the_uids_and_fits_its_column() -> None:
    asker = who_asks("eve@x.example", False, [event("REQUEST", uid="b"), event("CANCEL", uid="a")])
    assert asker is not None
    assert asker.topic == "uid:a b"
    many = Asker("eve@x.example", Role.ORGANIZER, (), tuple(f"uid-{n}" * 20 for n in range(9)))
    assert len(many.topic) <= MAX_TOPIC
    assert many.topic.startswith("uid-sha256:")


# -- held, and asked once -----------------------------------------------------------------------


def test_an_outsiders_invitation_is_held_and_the_admins_get_one_mail(app: Any, acme: str) -> None:
    add_people(app)
    send_by_smtp(app, acme, invitation(acme), mail_from=OUTSIDER)

    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
    assert row.status == InboundStatus.HELD
    assert row.command == "invitation"
    assert row.sender_trusted is False
    assert (row.reason or "").startswith(
        "held for an admin's approval: organizer eve@other.example is not a member of Acme AB"
    )
    assert meeting_titles(app) == []
    approval = only_approval(app)
    assert (approval.status, approval.sender, approval.inbound_id) == (
        ApprovalStatus.PENDING,
        OUTSIDER,
        row.id,
    )
    assert approval.topic == "uid:outsider-1@other.example"
    assert approval.decided_by is None and approval.decided_at is None
    assert approval.created_at == NOW

    [mail] = mails(app)
    assert mail["X-Kollegan-Kind"] == "approval-request"
    assert sorted(a.addr_spec for a in mail["To"].addresses) == ADMINS  # not the member Carl
    assert mail["Subject"] == (
        "Inbjudan från eve@other.example väntar på godkännande: Leverantörsmöte"
    )
    reply_to = mail["Reply-To"].addresses[0].addr_spec
    assert isinstance(decode_address(reply_to, MAIL_DOMAIN), ReplyAddress)
    body = text_body(mail)
    assert "Eve Extern <eve@other.example>" in body
    assert "Leverantörsmöte, lördag 28 november 2026 kl. 09:00 (Europe/Stockholm)" in body
    assert "Godkänn: http://127.0.0.1:8000/a/" in body
    assert "Avböj:   http://127.0.0.1:8000/a/" in body
    assert "Det här mejlet gick till ägarna och administratörerna i Acme AB" in body


def test_an_update_while_the_first_waits_asks_no_one_again(app: Any, acme: str) -> None:
    [first] = deliver(app, acme, invitation(acme))
    [second] = deliver(
        app, acme, invitation(acme, sequence=1, message_id="<outsider-2@other.example>")
    )
    [other] = deliver(  # another meeting from the same sender is another question
        app, acme, invitation(acme, uid="outsider-9@other.example", message_id="<o9@x.example>")
    )

    assert [inbound_row(app, i).status for i in (first, second, other)] == ["held"] * 3
    assert "waits with approval 1, already asked" in (inbound_row(app, second).reason or "")
    with app.db.reader() as session:
        rows = sorted(list_approvals(session), key=lambda a: a.id)
    assert [(a.inbound_id, a.lead_id) for a in rows] == [(first, None), (second, 1), (other, None)]
    assert len(mails(app, "approval-request")) == 2


def test_a_held_message_run_again_is_still_one_approval_and_one_mail(app: Any, acme: str) -> None:
    [held] = deliver(app, acme, invitation(acme))
    for _ in range(2):
        with app.db.session() as session:
            inbound.reset_for_retry(session, held)
        app.tasks.enqueue_inbound([held])

    assert inbound_row(app, held).status == InboundStatus.HELD
    assert only_approval(app).inbound_id == held
    assert len(mails(app)) == 1


def test_without_an_owner_or_admin_the_message_is_held_and_no_one_asked(app: Any) -> None:
    address = create_company(app, admin=None)
    [held] = deliver(app, address, invitation(address))

    row = inbound_row(app, held)
    assert row.status == InboundStatus.HELD
    assert (row.reason or "").endswith("the company has no owner or admin to ask")
    assert only_approval(app).status == ApprovalStatus.PENDING
    assert mails(app) == []


# -- trusted, applied directly ------------------------------------------------------------------


def test_an_organizer_writing_from_a_verified_domain_is_applied_directly(
    app: Any, acme: str
) -> None:
    dora = "dora@acme.example"  # no member, but acme.example is verified
    [processed] = deliver(
        app, acme, invitation(acme, organizer=dora, organizer_name="Dora"), mail_from=dora
    )

    row = inbound_row(app, processed)
    assert (row.status, row.sender_trusted) == (InboundStatus.PROCESSED, True)
    assert meeting_titles(app) == ["Leverantörsmöte"]
    assert outbound_kinds(app) == ["imip-reply", "pre-brief"]
    with app.db.reader() as session:
        assert list_approvals(session) == []


def test_a_member_sending_on_an_outsiders_invitation_is_trusted(app: Any, acme: str) -> None:
    add_people(app)  # Outlook's "Forward" on a meeting: a REQUEST from the forwarder
    raw = with_from(invitation(acme), f"Carl <{MEMBER}>")
    [processed] = deliver(app, acme, raw, mail_from=MEMBER)

    assert inbound_row(app, processed).status == InboundStatus.PROCESSED
    assert meeting_titles(app) == ["Leverantörsmöte"]


def test_a_forward_from_the_company_domain_is_applied_without_a_reply_to_the_organizer(
    app: Any,
) -> None:
    with app.db.session() as session:
        companies.create_company(
            session,
            name="Acme AB",
            slug="acme",
            domains=["acme.example"],
            admin_email="anna@acme.example",
            token="k3vq7xw2m4pa",  # the fixtures' agent
            now=NOW,
        )
    [processed] = deliver(
        app, "acme.k3vq7xw2m4pa@kollegan.test", FORWARD.read_bytes(), "bo@acme.example"
    )

    assert inbound_row(app, processed).status == InboundStatus.PROCESSED
    assert meeting_titles(app) == ["Projektmöte Q1"]
    # Cecilia never invited the agent: no acceptance goes to her
    assert outbound_kinds(app) == ["pre-brief"]


# -- what an outsider cannot do -----------------------------------------------------------------


def test_an_outsider_writing_a_member_as_organizer_is_held(app: Any, acme: str) -> None:
    raw = invitation(acme, organizer="anna@acme.example", organizer_name="Anna Berg")
    [held] = deliver(app, acme, with_from(raw, OUTSIDER))

    row = inbound_row(app, held)
    assert row.status == InboundStatus.HELD
    assert "forwarder eve@other.example is not a member" in (row.reason or "")
    assert meeting_titles(app) == []
    assert len(mails(app, "approval-request")) == 1


def test_an_outsider_forwarding_an_invitation_is_held_and_the_mail_says_whose(
    app: Any,
) -> None:
    with app.db.session() as session:
        companies.create_company(
            session,
            name="Acme AB",
            slug="acme",
            domains=["acme.example"],
            admin_email="anna@acme.example",
            token="k3vq7xw2m4pa",
            now=NOW,
        )
    raw = with_from(FORWARD.read_bytes(), "Eve Extern <eve@other.example>")
    [held] = deliver(app, "acme.k3vq7xw2m4pa@kollegan.test", raw)

    assert "forwarder eve@other.example" in (inbound_row(app, held).reason or "")
    [mail] = mails(app)
    body = text_body(mail)
    assert "vidarebefordrar någon annans inbjudan (från cecilia@partner.example)" in body
    assert "Projektmöte Q1" in body


def test_an_outside_attendees_reply_is_not_held(app: Any, acme: str) -> None:
    anna = "anna@acme.example"
    own = invitation(
        acme,
        organizer=anna,
        organizer_name="Anna Berg",
        attendees=[("sara@partner.example", "Sara")],
        uid="anna-1@acme.example",
        message_id="<anna-1@acme.example>",
    )
    deliver(app, acme, own, mail_from=anna)
    [answered] = deliver(app, acme, attendee_reply(acme), mail_from="sara@partner.example")

    row = inbound_row(app, answered)
    assert row.status == InboundStatus.PROCESSED, row.reason
    assert "sara@partner.example accepted" in (row.reason or "")
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        [sara] = [a for a in meeting.attendees if a.email == "sara@partner.example"]
        assert sara.partstat == "ACCEPTED"
    assert mails(app, "approval-request") == []


def attendee_reply(agent: str) -> bytes:
    stamp = datetime(2026, 11, 25, 7, 0, tzinfo=UTC).strftime("%Y%m%dT%H%M%SZ")
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REPLY\r\n"
        "BEGIN:VEVENT\r\nUID:anna-1@acme.example\r\nSEQUENCE:0\r\n"
        f"DTSTAMP:{stamp}\r\n"
        "ORGANIZER:mailto:anna@acme.example\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:sara@partner.example\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return (
        "From: Sara <sara@partner.example>\r\n"
        f"To: {agent}\r\nSubject: Accepted: Leverantörsmöte\r\n"
        "Message-ID: <sara-reply@partner.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/calendar; method=REPLY; charset="utf-8"\r\n\r\n' + calendar
    ).encode()
