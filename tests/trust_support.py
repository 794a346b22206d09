"""Helpers for the sender-trust tests: invitations from insiders and outsiders, delivery
through the real intake code, and what the Maildir and the store hold afterwards."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from core.types import Role, Source
from inbox.ingest import accept
from kollegan.app import App
from kollegan.samples import sample_invitation
from store import approvals, companies, inbound, meetings, outbound
from store.models import Approval, InboundMessage
from tests.conftest import NOW
from tests.support import maildir_messages, running_intake, settle

OUTSIDER = "eve@other.example"
ADMINS = ["anna@acme.example", "bo@acme.example"]  # owner and admin of Acme AB
MEMBER = "carl@acme.example"  # a member, not an admin


def add_people(app: App) -> None:
    """Bo Berg as an admin and Carl as a member, beside the owner Anna of ``create_company``."""
    with app.db.session() as session:
        company = companies.get_company_by_slug(session, "acme")
        companies.add_member(session, company, "bo@acme.example", Role.ADMIN, app.clock.now())
        companies.add_member(session, company, MEMBER, Role.MEMBER, app.clock.now())


def invitation(to: str, **overrides: Any) -> bytes:
    """An Outlook-like REQUEST from the outsider Eve (organizer and sender), to the agent."""
    values: dict[str, Any] = {
        "to": to,
        "organizer": OUTSIDER,
        "organizer_name": "Eve Extern",
        "attendees": [("anna@acme.example", "Anna Berg")],
        "title": "Leverantörsmöte",
        "start": NOW + timedelta(days=3),
        "agenda": "1. Offert",
        "uid": "outsider-1@other.example",
        "now": NOW,
        "message_id": "<outsider-1@other.example>",
    }
    values.update(overrides)
    return sample_invitation(**values)


def with_from(raw: bytes, sender: str) -> bytes:
    """The same message with another From header (the calendar inside unchanged)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"from:")]
    return b"\r\n".join([f"From: {sender}".encode(), *lines]) + b"\r\n\r\n" + body


def deliver(app: App, to: str, raw: bytes, mail_from: str = OUTSIDER) -> list[int]:
    """Store the message as the intakes do and let the (immediate) queue process it."""
    resolved = app.resolver.resolve(to)
    assert resolved is not None, f"{to} is not ours"
    stored = accept(
        app.db,
        raw,
        mail_from=mail_from,
        recipients=[resolved],
        source=Source.CLI,
        now=app.clock.now,
    )
    app.on_stored(stored)
    return list(stored.ids)


def send_by_smtp(app: App, to: str, raw: bytes, mail_from: str) -> None:
    with running_intake(app) as (host, port), smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail(mail_from, [to], raw)
        settle(app)


def mails(app: App, kind: str | None = None) -> list[EmailMessage]:
    found = maildir_messages(app.settings.maildir_path)
    return [m for m in found if kind is None or m["X-Kollegan-Kind"] == kind]


def only_approval(app: App) -> Approval:
    with app.db.reader() as session:
        [approval] = approvals.list_approvals(session)
        return approval


def inbound_row(app: App, inbound_id: int) -> InboundMessage:
    with app.db.reader() as session:
        return inbound.get_inbound(session, inbound_id)


def meeting_titles(app: App) -> list[str]:
    with app.db.reader() as session:
        return [m.title for m in meetings.list_meetings(session)]


def outbound_kinds(app: App) -> list[str]:
    with app.db.reader() as session:
        return sorted(row.kind for row in outbound.list_outbound(session))


def reply(to: str, sender: str, text: str, message_id: str = "<reply-1@acme.example>") -> bytes:
    """An admin's answer to the approval request, as a mail client writes it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Re: Godkänna inbjudan?"
    message["Message-ID"] = message_id
    message["In-Reply-To"] = "<request@kollegan.test>"
    message.set_content(text)
    return bytes(message.as_bytes())
