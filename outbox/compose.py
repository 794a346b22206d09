"""Composing a mail: multipart text + HTML, our headers, threading (pure).

An iMIP message (RFC 6047) carries its calendar as a third alternative,
``text/calendar; method=…``, after the text and HTML a person reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import format_datetime

from outbox.render import RenderedMail


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the mail is from and to, and which thread it belongs to."""

    from_address: str
    from_name: str
    to: Sequence[str]
    message_id: str  # without angle brackets
    kind: str  # stable name, e.g. "pre-brief"; also our loop marker
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    reply_to: str | None = None
    locale: str = "sv"


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


@dataclass(frozen=True, slots=True)
class CalendarPart:
    """An iCalendar object to send as iMIP: ``method`` must match the object's METHOD."""

    data: bytes
    method: str


def compose(
    mail: RenderedMail, envelope: Envelope, date: datetime, calendar: CalendarPart | None = None
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=envelope.from_name, addr_spec=envelope.from_address)
    message["To"] = ", ".join(envelope.to)
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{envelope.message_id}>"
    if envelope.in_reply_to:
        message["In-Reply-To"] = f"<{envelope.in_reply_to}>"
        references = [*envelope.references, envelope.in_reply_to]
        message["References"] = " ".join(f"<{r}>" for r in dict.fromkeys(references))
    message["Content-Language"] = envelope.locale
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: never answered automatically
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office replies
    message["X-Kollegan-Kind"] = envelope.kind
    message.set_content(mail.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if calendar is not None:
        # base64 keeps the iCalendar's CRLF line endings exactly as written
        message.add_alternative(
            calendar.data,
            maintype="text",
            subtype="calendar",
            params={"method": calendar.method, "charset": "utf-8"},
            cte="base64",
        )
    return message.as_bytes()


def with_date(raw: bytes, date: datetime) -> bytes:
    """The same mail dated ``date`` (mails are composed when planned, dated when sent)."""
    message = BytesParser(policy=SMTP).parsebytes(raw)
    del message["Date"]
    message["Date"] = format_datetime(date)
    return message.as_bytes()
