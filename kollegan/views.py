"""How rows look on the command line: JSON objects with stable fields, and text tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from typing import Any

from core.addresses import AgentAddress
from store.models import Company, InboundMessage, Meeting, OutboundMessage


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "uid": meeting.uid,
        "recurrence_id": meeting.recurrence_id or None,
        "title": meeting.title,
        "start": iso(meeting.start),
        "end": iso(meeting.end),
        "timezone": meeting.timezone,
        "all_day": meeting.all_day,
        "organizer": meeting.organizer_email,
        "attendees": [a.email for a in meeting.attendees],
        "status": meeting.status,
        "join_url": meeting.join_url,
        "sequence": meeting.sequence,
        "company_id": meeting.company_id,
    }


def outbound_json(row: OutboundMessage, meeting_uid: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "to": list(row.recipients),
        "subject": row.subject,
        "status": row.status,
        "meeting_uid": meeting_uid,
        "send_at": iso(row.send_at),
        "sent_at": iso(row.sent_at),
        "attempts": row.attempts,
        "last_error": row.last_error,
    }


def inbound_json(row: InboundMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "status": row.status,
        "reason": row.reason,
        "rule_hits": list(row.rule_hits or []),
        "command": row.command,
        "source": row.source,
        "mail_from": row.mail_from,
        "rcpt_to": row.rcpt_to,
        "sender": row.sender,
        "sender_trusted": row.sender_trusted,
        "received_at": iso(row.received_at),
        "processed_at": iso(row.processed_at),
        "attempts": row.attempts,
        "error": row.error,
        "size": row.size,
        "sha256": row.sha256,
    }


def company_json(company: Company, mail_domain: str) -> dict[str, Any]:
    live = [a for a in company.agents if a.revoked_at is None]
    return {
        "id": company.id,
        "slug": company.slug,
        "name": company.name,
        "domains": [d.domain for d in company.domains],
        "addresses": [AgentAddress(a.slug, a.token).render(mail_domain) for a in live],
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain text table of the given columns (for people; scripts use --json)."""
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def text_part(raw: bytes) -> str:
    """The plain-text body of a composed mail."""
    message: Any = message_from_bytes(raw, policy=default)
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def check_json(report: Any) -> dict[str, Any]:
    """A ``kollegan calendar check`` report: meetings per calendar, or the refusal."""
    return {
        "file": str(report.path),
        "refusal": report.refusal,
        "calendars": [
            {
                "method": calendar.method,
                "events": [
                    {
                        "uid": e.uid,
                        "recurrence_id": e.recurrence_id or None,
                        "title": e.title,
                        "start": iso(e.start),
                        "end": iso(e.end),
                        "timezone": e.timezone,
                        "all_day": e.all_day,
                        "organizer": e.organizer.email if e.organizer else None,
                        "join_url": e.join_url,
                        "occurrences_in_window": calendar.occurrences.get(e.uid),
                    }
                    for e in calendar.events
                ],
            }
            for calendar in report.calendars
        ],
    }
