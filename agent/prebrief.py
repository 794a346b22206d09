"""The pre-brief, first cut: what the organizer should know before the meeting.

Planned whenever a meeting is created or changes: sent at start − lead time (at once when
the meeting is closer than that), moved with the meeting, cancelled with it, and never sent
for a meeting that has already begun.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.addresses import AgentAddress
from core.settings import Settings
from core.types import MeetingStatus, OutboundKind
from outbox.compose import Envelope, compose, new_message_id
from outbox.queue import PlannedMail, cancel_mail, plan_mail
from outbox.render import Renderer
from store import companies
from store.meetings import get_meeting
from store.models import Meeting, OutboundMessage
from store.outbound import find_outbound

AGENDA_LIMIT = 4000
# Teams, Zoom and Google append join instructions below a rule of underscores or dashes.
_BOILERPLATE_RE = re.compile(r"^\s*(?:_{10,}|-{10,}|-::~:~::~:)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a mail is for, in which language and time zone."""

    email: str
    name: str | None
    locale: str
    timezone: str


def prebrief_key(meeting_id: int) -> str:
    return f"{OutboundKind.PRE_BRIEF}:meeting:{meeting_id}"


def prebrief_send_at(start: datetime, lead: timedelta, now: datetime) -> datetime | None:
    """When to send: start − lead, or now when that has passed; None once the meeting began."""
    if start <= now:
        return None
    return max(now, start - lead)


def agenda_text(description: str) -> str:
    """The invitation's own text, without the join boilerplate clients append."""
    found = _BOILERPLATE_RE.search(description)
    text = description[: found.start()] if found else description
    text = re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip()
    return text[:AGENDA_LIMIT] + ("…" if len(text) > AGENDA_LIMIT else "")


def plan_prebrief(
    session: Session,
    meeting_id: int,
    *,
    settings: Settings,
    renderer: Renderer,
    now: datetime,
) -> OutboundMessage | None:
    """Plan (or move, or cancel) the meeting's pre-brief; the row, or None when none is due."""
    meeting = get_meeting(session, meeting_id)
    key = prebrief_key(meeting.id)
    send_at = prebrief_send_at(meeting.start, settings.prebrief_lead_time, now)
    if meeting.status == MeetingStatus.CANCELLED or send_at is None or not meeting.organizer_email:
        cancel_mail(session, key, now)
        return None
    reader = organizer_reader(session, meeting, settings)
    agent = (
        companies.get_agent(session, meeting.agent_id)
        if meeting.agent_id
        else companies.company_agent(session, meeting.company_id)
    )
    company = companies.get_company(session, meeting.company_id)
    agent_address = AgentAddress(agent.slug, agent.token).render(settings.mail_domain)
    rendered = renderer.render(
        OutboundKind.PRE_BRIEF,
        reader.locale,
        prebrief_context(meeting, reader, agent_address, settings.mail_domain),
    )
    existing = find_outbound(session, key)
    message_id = existing.message_id if existing else new_message_id(settings.mail_domain)
    envelope = Envelope(
        from_address=agent_address,
        from_name=f"Kollegan ({company.name})",
        to=[reader.email],
        message_id=message_id,
        kind=OutboundKind.PRE_BRIEF,
        in_reply_to=meeting.source_message_id,
        locale=reader.locale,
    )
    return plan_mail(
        session,
        PlannedMail(
            company_id=meeting.company_id,
            kind=OutboundKind.PRE_BRIEF,
            dedupe_key=key,
            recipients=[reader.email],
            locale=reader.locale,
            subject=rendered.subject,
            message_id=message_id,
            raw=compose(rendered, envelope, now),
            send_at=send_at,
            meeting_id=meeting.id,
            in_reply_to=meeting.source_message_id,
        ),
        now,
    )


def organizer_reader(session: Session, meeting: Meeting, settings: Settings) -> Reader:
    """The organizer as a reader: their own language and zone when known, else a good guess."""
    email = meeting.organizer_email or ""
    user = companies.find_user(session, email)
    company = companies.get_company(session, meeting.company_id)
    return Reader(
        email=email,
        name=meeting.organizer_name or (user.display_name if user else None),
        locale=(user.locale if user and user.locale else company.locale) or settings.default_locale,
        timezone=reader_zone(user.timezone if user else None, meeting.timezone, company.timezone)
        or settings.default_timezone,
    )


def reader_zone(own: str | None, invitation: str, company: str) -> str:
    """The reader's own zone; else the invitation's, unless it only said UTC (as many clients
    do): then the company's zone is the better guess."""
    if own:
        return own
    if invitation and invitation.upper() not in ("UTC", "ETC/UTC", "Z", "GMT"):
        return invitation
    return company


def prebrief_context(
    meeting: Meeting, reader: Reader, agent_address: str, mail_domain: str
) -> dict[str, Any]:
    attendees = [
        {"name": a.name or "", "email": a.email, "partstat": a.partstat, "role": a.role}
        for a in meeting.attendees
        if not a.email.endswith("@" + mail_domain)  # the agent itself
    ]
    return {
        "title": meeting.title or "",
        "start": meeting.start,
        "end": meeting.end,
        "zone": reader.timezone,
        "all_day": meeting.all_day,
        "location": meeting.location,
        "join_url": meeting.join_url or "",
        "organizer": {"name": meeting.organizer_name or "", "email": meeting.organizer_email},
        "attendees": attendees,
        "agenda": agenda_text(meeting.description),
        "reader": {"name": reader.name or "", "email": reader.email},
        "agent_address": agent_address,
    }
