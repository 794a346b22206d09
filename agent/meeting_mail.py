"""A mail from the agent to a meeting's organizer, about that meeting (one per kind)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.prebrief import organizer_reader, prebrief_context
from core.addresses import AgentAddress
from core.settings import Settings
from outbox.compose import Envelope, compose, new_message_id
from outbox.queue import PlannedMail, plan_mail
from outbox.render import Renderer
from store import companies
from store.models import Meeting, OutboundMessage
from store.outbound import find_outbound


def meeting_mail_key(kind: str, meeting_id: int) -> str:
    return f"{kind}:meeting:{meeting_id}"


def plan_meeting_mail(
    session: Session,
    meeting: Meeting,
    *,
    kind: str,
    send_at: datetime,
    settings: Settings,
    renderer: Renderer,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> OutboundMessage | None:
    """Plan the ``kind`` mail (template ``mail/<kind>.<locale>.*``) to the organizer."""
    if not meeting.organizer_email:
        return None
    reader = organizer_reader(session, meeting, settings)
    agent = (
        companies.get_agent(session, meeting.agent_id)
        if meeting.agent_id
        else companies.company_agent(session, meeting.company_id)
    )
    company = companies.get_company(session, meeting.company_id)
    agent_address = AgentAddress(agent.slug, agent.token).render(settings.mail_domain)
    context = prebrief_context(meeting, reader, agent_address, settings.mail_domain)
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
