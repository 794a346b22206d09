"""Deciding a held invitation: by the signed links (GET asks, POST decides) or by replying
"ja"/"nej" to the signed reply address — and every way of not being allowed to."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.links import APPROVAL_TTL
from core.types import ApprovalStatus, InboundStatus, MeetingStatus, OutboundStatus
from inbox.approval_reply import read_decision
from inbox.approvals import Decision
from inbox.parse import parse_message
from store import approvals, inbound, meetings, outbound
from tests.support import html_body, text_body
from tests.trust_support import (
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
    reply,
    send_by_smtp,
)

ANNA = "anna@acme.example"


@pytest.fixture
def held(app: Any, acme: str) -> int:
    """An outsider's invitation, held; the admins have the approval request."""
    add_people(app)
    [inbound_id] = deliver(app, acme, invitation(acme))
    assert inbound_row(app, inbound_id).status == InboundStatus.HELD
    return inbound_id


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app.web_app()) as test_client:
        yield test_client


def request_mail(app: Any) -> Any:
    [mail] = mails(app, "approval-request")
    return mail


def link(app: Any, label: str) -> str:
    """The path of the approve ("Godkänn") or refuse ("Avböj") link in the request."""
    text = text_body(request_mail(app))
    found = re.search(rf"^{label}: +http://127\.0\.0\.1:8000(/a/\S+)\r?$", text, re.M)
    assert found, "no such link in the approval request"
    assert found.group(1) in html_body(request_mail(app))
    return found.group(1)


def reply_address(app: Any) -> str:
    return str(request_mail(app)["Reply-To"].addresses[0].addr_spec)


def assert_untouched(app: Any, held: int) -> None:
    assert inbound_row(app, held).status == InboundStatus.HELD
    assert only_approval(app).status == ApprovalStatus.PENDING
    assert meeting_titles(app) == []


# -- by link ------------------------------------------------------------------------------------


def test_the_approve_link_asks_first_and_the_button_approves(
    app: Any, held: int, client: TestClient
) -> None:
    path = link(app, "Godkänn")
    for _ in range(2):  # a link scanner fetching it twice decides nothing
        page = client.get(path)
        assert page.status_code == 200
        assert "Godkänna inbjudan?" in page.text
        assert "eve@other.example" in page.text
        assert "Leverantörsmöte" in page.text
        assert '<form method="post">' in page.text
    assert_untouched(app, held)

    done = client.post(path)

    assert done.status_code == 200
    assert "Godkänt." in done.text
    approval = only_approval(app)
    assert (approval.status, approval.decided_via, approval.decided_at) == (
        ApprovalStatus.APPROVED,
        "link",
        app.clock.now(),
    )
    row = inbound_row(app, held)
    assert row.status == InboundStatus.PROCESSED
    assert (row.reason or "").startswith(
        "approved by an admin (approval link): outsider-1@other.example"
    )
    assert meeting_titles(app) == ["Leverantörsmöte"]
    assert outbound_kinds(app) == ["approval-request", "imip-reply", "pre-brief"]
    with app.db.reader() as session:
        [brief] = outbound.list_outbound(session, kind="pre-brief")
        assert brief.recipients == ["anna@acme.example"]  # briefs stay in the company
        assert brief.status == OutboundStatus.SCHEDULED  # the meeting is three days away
    assert len(mails(app, "imip-reply")) == 1  # sent at once, after the decision

    again = client.post(path)  # a second click: nothing more happens
    assert "Redan godkänd av en administratör via länken" in again.text
    assert len(meeting_titles(app)) == 1


def test_the_refuse_link_rejects_the_held_message(
    app: Any, acme: str, held: int, client: TestClient
) -> None:
    path = link(app, "Avböj")
    assert "Avböja inbjudan?" in client.get(path, params={"lang": "sv"}).text
    assert "Refuse the invitation?" in client.get(path, params={"lang": "en"}).text

    done = client.post(path)

    assert "Avböjt." in done.text
    assert only_approval(app).status == ApprovalStatus.REFUSED
    row = inbound_row(app, held)
    assert (row.status, row.reason) == (
        InboundStatus.REJECTED,
        "refused by an admin (approval link)",
    )
    assert meeting_titles(app) == []
    # the same sender about the same meeting: turned away without asking again
    [later] = deliver(app, acme, invitation(acme, sequence=1, message_id="<outsider-2@x.example>"))
    assert inbound_row(app, later).status == InboundStatus.REJECTED
    assert inbound_row(app, later).reason == "refused earlier by an admin (approval link)"
    assert len(mails(app, "approval-request")) == 1


def test_a_forged_link_is_refused_and_logged(
    app: Any, held: int, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = link(app, "Godkänn")
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    with caplog.at_level(logging.WARNING, logger="web.approval_page"):
        for method in (client.get, client.post):
            page = method(forged)
            assert page.status_code == 404
            assert "Länken är ogiltig" in page.text
    assert caplog.messages == ["approval link refused: the signature does not verify"] * 2
    assert forged.rsplit("/", 1)[1] not in caplog.text  # logs never hold tokens
    assert_untouched(app, held)


def test_an_expired_link_is_refused(
    app: Any, held: int, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = link(app, "Godkänn")
    app.clock.advance(APPROVAL_TTL)
    with caplog.at_level(logging.WARNING, logger="web.approval_page"):
        page = client.post(path)
    assert page.status_code == 410
    assert "Länken har gått ut" in page.text
    assert caplog.messages == ["approval link refused: expired"]
    assert_untouched(app, held)


def test_approving_the_first_also_applies_the_update_that_waited(
    app: Any, acme: str, held: int, client: TestClient
) -> None:
    moved = app.clock.now() + timedelta(days=4)
    [update] = deliver(
        app, acme, invitation(acme, start=moved, sequence=1, message_id="<outsider-2@x.example>")
    )
    client.post(link(app, "Godkänn"))

    assert [inbound_row(app, i).status for i in (held, update)] == ["processed"] * 2
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        assert (meeting.start, meeting.sequence) == (moved, 1)
        assert {a.status for a in approvals.list_approvals(session)} == {ApprovalStatus.APPROVED}
    # and later changes by the same sender to the same meeting apply without asking
    [cancel] = deliver(app, acme, cancellation(acme))
    assert (inbound_row(app, cancel).reason or "").startswith("approved earlier by an admin")
    with app.db.reader() as session:
        assert meetings.list_meetings(session)[0].status == MeetingStatus.CANCELLED
    assert len(mails(app, "approval-request")) == 1


def cancellation(acme: str) -> bytes:
    raw = invitation(acme, sequence=2, message_id="<outsider-3@x.example>")
    message = parse_message(raw)
    calendar = message.calendars[0].replace(b"METHOD:REQUEST", b"METHOD:CANCEL")
    return (
        f"From: Eve Extern <{OUTSIDER}>\r\nTo: {acme}\r\nSubject: Inställt\r\n"
        "Message-ID: <outsider-3@x.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/calendar; method=CANCEL; charset="utf-8"\r\n\r\n'
    ).encode() + calendar


# -- by reply -----------------------------------------------------------------------------------


def test_an_admin_approves_by_replying_ja_through_the_smtp_intake(app: Any, held: int) -> None:
    address = reply_address(app)
    answer = reply(address, f"Anna Berg <{ANNA}>", "Ja!\n\nDen 25 nov. skrev Kollegan:\n> Godkänn")
    send_by_smtp(app, address, answer, mail_from=ANNA)

    approval = only_approval(app)
    assert (approval.status, approval.decided_by, approval.decided_via) == (
        ApprovalStatus.APPROVED,
        ANNA,
        "reply",
    )
    assert inbound_row(app, held).status == InboundStatus.PROCESSED
    assert (inbound_row(app, held).reason or "").startswith(f"approved by {ANNA}: ")
    assert meeting_titles(app) == ["Leverantörsmöte"]
    assert "pre-brief" in outbound_kinds(app)
    answered = answer_row(app)
    assert (answered.status, answered.command) == (InboundStatus.PROCESSED, "approval-reply")
    assert answered.reason == f"approval 1 approved by {ANNA}: 1 held message(s) approved"


def test_an_admin_refuses_by_replying_nej(app: Any, held: int) -> None:
    address = reply_address(app)
    deliver(app, address, reply(address, "bo@acme.example", "Nej tack."), "bo@acme.example")

    assert only_approval(app).status == ApprovalStatus.REFUSED
    row = inbound_row(app, held)
    assert (row.status, row.reason) == (InboundStatus.REJECTED, "refused by bo@acme.example")
    assert meeting_titles(app) == []


@pytest.mark.parametrize(
    ("sender", "text", "reason"),
    [
        (MEMBER, "Ja", f"{MEMBER} is not an owner or admin of Acme AB"),
        (OUTSIDER, "ja", f"{OUTSIDER} is not an owner or admin of Acme AB"),
        (ANNA, "Kanske, jag återkommer", f"no ja/nej (yes/no) at the start of {ANNA}'s reply"),
        (ANNA, "> Godkänn\n\nja", f"no ja/nej (yes/no) at the start of {ANNA}'s reply"),
    ],
)
def test_a_reply_that_may_not_decide_is_refused_and_recorded(
    app: Any, held: int, sender: str, text: str, reason: str
) -> None:
    address = reply_address(app)
    deliver(app, address, reply(address, sender, text), sender)

    answered = answer_row(app)
    assert (answered.status, answered.reason) == (
        InboundStatus.REJECTED,
        f"approval reply refused: {reason}",
    )
    assert_untouched(app, held)


def test_a_reply_to_a_forged_address_is_refused_and_recorded(app: Any, held: int) -> None:
    address = reply_address(app)
    local, _, domain = address.partition("@")
    forged = f"{local[:-4]}{'aaaa' if not local.endswith('aaaa') else 'bbbb'}@{domain}"
    deliver(app, forged, reply(forged, ANNA, "Ja"), ANNA)

    answered = answer_row(app)
    assert answered.status == InboundStatus.REJECTED
    assert answered.reason == (
        "approval reply refused: the reply address's signature does not verify"
    )
    assert_untouched(app, held)


def test_a_reply_after_the_address_expired_is_refused_and_recorded(app: Any, held: int) -> None:
    address = reply_address(app)
    app.clock.advance(APPROVAL_TTL + timedelta(hours=1))
    deliver(app, address, reply(address, ANNA, "Ja"), ANNA)

    answered = answer_row(app)
    assert answered.status == InboundStatus.REJECTED
    assert answered.reason == "approval reply refused: the reply address expired (2026-12-25)"
    assert_untouched(app, held)


def test_a_reply_after_the_decision_changes_nothing(app: Any, held: int) -> None:
    address = reply_address(app)
    deliver(app, address, reply(address, ANNA, "ja", "<r1@acme.example>"), ANNA)
    deliver(app, address, reply(address, "bo@acme.example", "nej", "<r2@acme.example>"), ANNA)

    late = answer_row(app)  # the newest
    assert late.status == InboundStatus.REJECTED
    assert late.reason == (
        f"approval reply refused: approval 1 was already approved by {ANNA}; "
        "bo@acme.example's refuse changes nothing"
    )
    assert meeting_titles(app) == ["Leverantörsmöte"]


def test_only_well_formed_reply_addresses_pass_rcpt(app: Any) -> None:
    """The signature is checked in the worker (so a refusal is recorded); RCPT checks the
    grammar, which turns away what can never be a reply address of ours."""
    for address in ("approval+nothing@kollegan.test", "nudge+ab-cd@kollegan.test"):
        assert app.resolver.resolve(address) is None
    resolved = app.resolver.resolve("Approval+1-2-3@Kollegan.Test")
    assert resolved is not None
    assert (resolved.canonical, resolved.company_id) == ("approval+1-2-3@kollegan.test", None)


def answer_row(app: Any) -> Any:
    with app.db.reader() as session:
        return next(r for r in inbound.list_inbound(session) if r.command == "approval-reply")


# -- reading an answer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("Ja", Decision.APPROVE),
        ("ja, godkänn", Decision.APPROVE),
        ("JA!\n\nSkickat från min iPhone", Decision.APPROVE),
        ("Godkänn", Decision.APPROVE),
        ("**Yes**", Decision.APPROVE),
        ('"approve"', Decision.APPROVE),
        ("\n\n  yes please\n> Godkänn: http://…", Decision.APPROVE),
        ("Nej", Decision.REFUSE),
        ("Nej, godkänn inte", Decision.REFUSE),
        ("Avböj.", Decision.REFUSE),
        ("no", Decision.REFUSE),
        ("Refuse", Decision.REFUSE),
        ("Jag vet inte", None),  # "jag" is no "ja"
        ("Hej! Ja det går bra", None),  # the first word decides, and it is a greeting
        ("Japp", None),
        ("> ja\nja", None),  # the quote came first: nothing written above it
        ("", None),
        ("1. ja", None),
        ("okej", None),
    ],
)
def test_the_first_word_of_the_answer_decides(text: str, decision: Decision | None) -> None:
    raw = reply("approval+1-2-3@kollegan.test", ANNA, text or " ")
    assert read_decision(parse_message(raw)) == decision


def test_an_html_only_answer_is_read_too() -> None:
    raw = (
        f"From: {ANNA}\r\nTo: approval+1-2-3@kollegan.test\r\nSubject: Re: x\r\n"
        "Message-ID: <h@acme.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/html; charset="utf-8"\r\n\r\n'
        "<div dir=ltr>Nej</div><blockquote>Godkänn …</blockquote>"
    ).encode()
    assert read_decision(parse_message(raw)) == Decision.REFUSE
