"""The agent accepts: an iMIP REPLY (PARTSTAT=ACCEPTED) to the organizer of a new meeting.

So the organizer's calendar shows Kollegan as attending. Sent at once, once per series; its
COMMENT and its text link to the meeting's page (what Kollegan does with the meeting, and a
button to remove it). Only when the organizer invited the agent: on an invitation someone
forwarded, the agent is no attendee of the organizer's, and a reply from it would surprise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from agent.readers import organizer_reader
from core.addresses import AgentAddress, decode_address
from core.errors import AddressError
from core.links import Links
from core.settings import Settings
from core.types import MeetingStatus, OutboundKind
from outbox.compose import CalendarPart, Envelope, compose, new_message_id
from outbox.imip import Reply, reply_calendar
from outbox.queue import PlannedMail, plan_mail
from outbox.render import Renderer
from store import companies
from store.meetings import get_series, occurrences_of
from store.models import Meeting, OutboundMessage
from store.outbound import find_outbound


def imip_reply_key(series_id: int) -> str:
    return f"{OutboundKind.IMIP_REPLY}:series:{series_id}"


def plan_imip_reply(
    session: Session,
    series_id: int,
    *,
    settings: Settings,
    renderer: Renderer,
    links: Links,
    now: datetime,
) -> OutboundMessage | None:
    """Plan the acceptance; None when there is no one to send it to (no organizer, the
    agent not invited, nothing left of the series)."""
    key = imip_reply_key(series_id)
    existing = find_outbound(session, key)
    if existing is not None:
        return existing
    series = get_series(session, series_id)
    meeting = first_meeting(occurrences_of(session, series.id))
    agent = companies.agent_for(session, series.company_id, series.agent_id)
    if meeting is None or not series.organizer_email:
        return None
    attendee = invited_as(meeting, AgentAddress(agent.slug, agent.token), settings.mail_domain)
    if attendee is None:
        return None
    company = companies.get_company(session, series.company_id)
    reader = organizer_reader(session, meeting, settings)
    context: dict[str, Any] = {
        "title": meeting.title or "",
        "start": meeting.start,
        "all_day": meeting.all_day,
        "zone": reader.timezone,
        "recurring": series.recurring,
        "company": company.name,
        "reader": {"name": reader.name or "", "email": reader.email},
        "meeting_url": links.meeting_page(series.id, now=now),
    }
    rendered = renderer.render(OutboundKind.IMIP_REPLY, reader.locale, context)
    calendar = reply_calendar(
        Reply(
            uid=series.uid,
            sequence=series.sequence,
            organizer=series.organizer_email,
            organizer_name=meeting.organizer_name,
            attendee=attendee,
            attendee_name=f"Kollegan ({company.name})",
            partstat="ACCEPTED",
            summary=meeting.title or "",
            comment=renderer.render_part(
                OutboundKind.IMIP_REPLY, reader.locale, "comment", context
            ),
            dtstamp=now,
        )
    )
    message_id = new_message_id(settings.mail_domain)
    envelope = Envelope(
        from_address=AgentAddress(agent.slug, agent.token).render(settings.mail_domain),
        from_name=f"Kollegan ({company.name})",
        to=[series.organizer_email],
        message_id=message_id,
        kind=OutboundKind.IMIP_REPLY,
        in_reply_to=meeting.source_message_id,
        locale=reader.locale,
    )
    return plan_mail(
        session,
        PlannedMail(
            company_id=series.company_id,
            kind=OutboundKind.IMIP_REPLY,
            dedupe_key=key,
            recipients=[series.organizer_email],
            locale=reader.locale,
            subject=rendered.subject,
            message_id=message_id,
            raw=compose(rendered, envelope, now, CalendarPart(calendar, "REPLY")),
            send_at=now,
            meeting_id=meeting.id,
            in_reply_to=meeting.source_message_id,
        ),
        now,
    )


def first_meeting(meetings: Sequence[Meeting]) -> Meeting | None:
    """The series' first meeting still planned, else its first (they come sorted by start)."""
    live = [m for m in meetings if m.status != MeetingStatus.CANCELLED]
    return live[0] if live else (meetings[0] if meetings else None)


def invited_as(meeting: Meeting, agent: AgentAddress, mail_domain: str) -> str | None:
    """The agent's address as the organizer wrote it among the attendees (their calendar
    matches the REPLY's ATTENDEE to it); None when the agent is not among them."""
    for attendee in meeting.attendees:
        try:
            recipient = decode_address(attendee.email, mail_domain)
        except AddressError:
            continue
        if isinstance(recipient, AgentAddress) and recipient.token == agent.token:
            return attendee.email
    return None
