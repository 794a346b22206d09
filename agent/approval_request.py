"""The approval request: one mail to a company's owners and admins about a held message.

Sent at once, with a signed approve link and a signed refuse link to the portal, and a signed
Reply-To address so an admin can answer "ja" or "nej" from the mail client. One mail per
approval request (its lead approval): planning it again changes nothing once it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.addresses import AgentAddress
from core.links import APPROVAL_TTL, Links
from core.settings import Settings
from core.types import OutboundKind
from outbox.compose import Envelope, compose, new_message_id
from outbox.queue import PlannedMail, plan_mail
from outbox.render import Renderer
from store import companies
from store.approvals import get_approval
from store.models import Company, OutboundMessage, User
from store.outbound import find_outbound


@dataclass(frozen=True, slots=True)
class AskedAbout:
    """One meeting the held message would change."""

    title: str
    start: datetime | None
    organizer: str | None
    organizer_name: str | None


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """What the admins read about the held message."""

    approval_id: int
    sender: str
    sender_name: str | None
    forwarded: bool  # the sender sent on someone else's invitation
    original_from: str | None
    subject: str
    meetings: Sequence[AskedAbout]


def approval_request_key(approval_id: int) -> str:
    return f"{OutboundKind.APPROVAL_REQUEST}:approval:{approval_id}"


def plan_approval_request(
    session: Session,
    held: HeldMessage,
    *,
    settings: Settings,
    renderer: Renderer,
    links: Links,
    now: datetime,
) -> OutboundMessage | None:
    """Plan the mail (sent at once); None when the company has no owner or admin to ask."""
    approval = get_approval(session, held.approval_id)
    company = companies.get_company(session, approval.company_id)
    admins = companies.list_admins(session, company.id)
    if not admins:
        return None
    key = approval_request_key(approval.id)
    existing = find_outbound(session, key)
    if existing is not None:
        return existing  # asked once: the links in that mail stay the ones that work
    locale = admins_locale(admins, company, settings.default_locale)
    expires_at = approval.created_at + APPROVAL_TTL
    agent = companies.company_agent(session, company.id)
    agent_address = AgentAddress(agent.slug, agent.token).render(settings.mail_domain)
    recipients = [admin.email for admin in admins]
    context = approval_context(held, company, recipients, expires_at)
    context |= {
        "approve_url": links.approval_page(approval.id, "approve", expires_at=expires_at),
        "refuse_url": links.approval_page(approval.id, "refuse", expires_at=expires_at),
        "reply_address": links.approval_reply_address(approval.id, expires_at=expires_at),
    }
    rendered = renderer.render(OutboundKind.APPROVAL_REQUEST, locale, context)
    message_id = new_message_id(settings.mail_domain)
    envelope = Envelope(
        from_address=agent_address,
        from_name=f"Kollegan ({company.name})",
        to=recipients,
        message_id=message_id,
        kind=OutboundKind.APPROVAL_REQUEST,
        reply_to=context["reply_address"],
        locale=locale,
    )
    return plan_mail(
        session,
        PlannedMail(
            company_id=company.id,
            kind=OutboundKind.APPROVAL_REQUEST,
            dedupe_key=key,
            recipients=recipients,
            locale=locale,
            subject=rendered.subject,
            message_id=message_id,
            raw=compose(rendered, envelope, now),
            send_at=now,
        ),
        now,
    )


def admins_locale(admins: Sequence[User], company: Company, default: str) -> str:
    """The admins' language when they share one; else the default (Swedish)."""
    languages = {admin.locale or company.locale or default for admin in admins}
    return languages.pop() if len(languages) == 1 else default


def approval_context(
    held: HeldMessage, company: Company, recipients: Sequence[str], expires_at: datetime
) -> dict[str, Any]:
    return {
        "company": company.name,
        "zone": company.timezone,
        "sender": {"email": held.sender, "name": held.sender_name or ""},
        "forwarded": held.forwarded,
        "original_from": held.original_from or "",
        "subject": held.subject,
        "meetings": [
            {
                "title": m.title,
                "start": m.start,
                "organizer": m.organizer or "",
                "organizer_name": m.organizer_name or "",
            }
            for m in held.meetings
        ],
        "admins": list(recipients),
        "expires_at": expires_at,
    }
