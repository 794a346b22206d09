"""Who the agent writes to about a meeting, in which language and time zone.

Briefs carry what the company knows (attendees, later their profiles and open actions), so
they go to someone the company trusts: the organizer when they are a member or write from a
verified domain; else the member who brought the invitation (a forward, an approval); else the
company's own attendees. An outsider organizer gets the protocol's answer (the iMIP REPLY),
never the brief.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.settings import Settings
from store import companies
from store.models import InboundMessage, Meeting


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a mail is for, in which language and time zone."""

    email: str
    name: str | None
    locale: str
    timezone: str


def reader_zone(own: str | None, invitation: str, company: str) -> str:
    """The reader's own zone; else the invitation's, unless it only said UTC (as many clients
    do): then the company's zone is the better guess."""
    if own:
        return own
    if invitation and invitation.upper() not in ("UTC", "ETC/UTC", "Z", "GMT"):
        return invitation
    return company


def reader_for(
    session: Session, meeting: Meeting, email: str, name: str | None, settings: Settings
) -> Reader:
    user = companies.find_user(session, email)
    company = companies.get_company(session, meeting.company_id)
    return Reader(
        email=email,
        name=name or (user.display_name if user else None),
        locale=(user.locale if user and user.locale else company.locale) or settings.default_locale,
        timezone=reader_zone(user.timezone if user else None, meeting.timezone, company.timezone)
        or settings.default_timezone,
    )


def organizer_reader(session: Session, meeting: Meeting, settings: Settings) -> Reader:
    """The organizer as a reader: their own language and zone when known, else a good guess."""
    return reader_for(
        session, meeting, meeting.organizer_email or "", meeting.organizer_name, settings
    )


def briefing_reader(session: Session, meeting: Meeting, settings: Settings) -> Reader | None:
    """Who gets the meeting's briefs (see the module's rule); None when nobody trusted."""
    organizer = meeting.organizer_email
    if organizer and companies.is_trusted(session, meeting.company_id, organizer):
        return organizer_reader(session, meeting, settings)
    requester = _requester(session, meeting)
    if requester and companies.is_trusted(session, meeting.company_id, requester):
        return reader_for(session, meeting, requester, None, settings)
    for attendee in meeting.attendees:
        if companies.is_trusted(session, meeting.company_id, attendee.email):
            return reader_for(session, meeting, attendee.email, attendee.name, settings)
    return None


def _requester(session: Session, meeting: Meeting) -> str | None:
    if meeting.source_inbound_id is None:
        return None
    row = session.get(InboundMessage, meeting.source_inbound_id)
    return row.sender if row is not None else None
