"""Planning mail: an outbound row per (kind, subject matter), updated while still unsent.

The ``dedupe_key`` names what the mail is about (e.g. ``pre-brief:meeting:42``), so planning
the same mail twice — a retried task, an updated invitation — never makes two mails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.types import OutboundStatus
from store.models import OutboundMessage
from store.outbound import find_outbound


@dataclass(frozen=True, slots=True)
class PlannedMail:
    company_id: int
    kind: str
    dedupe_key: str
    recipients: Sequence[str]
    locale: str
    subject: str
    message_id: str
    raw: bytes
    send_at: datetime
    meeting_id: int | None = None
    in_reply_to: str | None = None


def plan_mail(session: Session, mail: PlannedMail, now: datetime) -> OutboundMessage:
    """Create the row, or update it while it is still scheduled; a sent mail stays as it was."""
    row = find_outbound(session, mail.dedupe_key)
    if row is None:
        row = OutboundMessage(
            company_id=mail.company_id,
            kind=mail.kind,
            dedupe_key=mail.dedupe_key,
            message_id=mail.message_id,
            status=OutboundStatus.SCHEDULED.value,
            attempts=0,
            created_at=now,
        )
        session.add(row)
    elif row.status not in (OutboundStatus.SCHEDULED, OutboundStatus.CANCELLED):
        return row
    row.meeting_id = mail.meeting_id
    row.recipients = list(mail.recipients)
    row.locale = mail.locale
    row.subject = mail.subject
    row.in_reply_to = mail.in_reply_to
    row.raw = mail.raw
    row.send_at = mail.send_at
    row.status = OutboundStatus.SCHEDULED.value
    row.updated_at = now
    session.flush()
    return row


def cancel_mail(session: Session, dedupe_key: str, now: datetime) -> bool:
    """Cancel a mail not yet sent; True when there was one to cancel."""
    row = find_outbound(session, dedupe_key)
    if row is None or row.status != OutboundStatus.SCHEDULED:
        return False
    row.status = OutboundStatus.CANCELLED.value
    row.updated_at = now
    return True
