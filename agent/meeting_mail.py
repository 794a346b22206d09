"""A mail from the agent about one meeting, to one reader (one row per kind and meeting)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.readers import Reader
from core.addresses import AgentAddress
from core.settings import Settings
from outbox.compose import Envelope, compose, new_message_id
from outbox.queue import PlannedMail, plan_mail
from outbox.render import Renderer
from store import companies
from store.models import Meeting, OutboundMessage
from store.outbound import find_outbound

AGENDA_LIMIT = 4000
# Teams, Zoom and Google append join instructions below a rule of underscores or dashes.
_BOILERPLATE_RE = re.compile(r"^\s*(?:_{10,}|-{10,}|-::~:~::~:)", re.MULTILINE)


def meeting_mail_key(kind: str, meeting_id: int) -> str:
    return f"{kind}:meeting:{meeting_id}"


def agenda_text(description: str) -> str:
    """The invitation's own text, without the join boilerplate clients append."""
    found = _BOILERPLATE_RE.search(description)
    text = description[: found.start()] if found else description
    text = re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip()
    return text[:AGENDA_LIMIT] + ("…" if len(text) > AGENDA_LIMIT else "")


def meeting_context(
    meeting: Meeting, reader: Reader, agent_address: str, mail_domain: str
) -> dict[str, Any]:
    """What every template about a meeting may show (times in the reader's zone)."""
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


def plan_meeting_mail(
    session: Session,
    meeting: Meeting,
    *,
    kind: str,
    reader: Reader,
    send_at: datetime,
    settings: Settings,
    renderer: Renderer,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> OutboundMessage:
    """Plan (or re-plan, while unsent) the ``kind`` mail — template ``mail/<kind>.<locale>.*``."""
    agent = companies.agent_for(session, meeting.company_id, meeting.agent_id)
    company = companies.get_company(session, meeting.company_id)
    agent_address = AgentAddress(agent.slug, agent.token).render(settings.mail_domain)
    context = meeting_context(meeting, reader, agent_address, settings.mail_domain)
    rendered = renderer.render(kind, reader.locale, {**context, **(extra or {})})
    key = meeting_mail_key(kind, meeting.id)
    existing = find_outbound(session, key)
    message_id = existing.message_id if existing else new_message_id(settings.mail_domain)
    envelope = Envelope(
        from_address=agent_address,
        from_name=f"Kollegan ({company.name})",
        to=[reader.email],
        message_id=message_id,
        kind=kind,
        in_reply_to=meeting.source_message_id,
        locale=reader.locale,
    )
    return plan_mail(
        session,
        PlannedMail(
            company_id=meeting.company_id,
            kind=kind,
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
