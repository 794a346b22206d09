"""The command table: what each routed inbound command does, wired from the parts.

``inbox`` decides *which* command a message is for; the parts below do the work and meet in
the store. Nothing here decides anything itself: the trust rule is
:mod:`calendar_sync.trust`'s, the approval gate :mod:`inbox.approvals`', the mails the
agent's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from agent.approval_request import AskedAbout, HeldMessage, plan_approval_request
from agent.attendance import advance
from agent.connectors import Connector
from agent.imip_reply import plan_imip_reply
from agent.prebrief import plan_prebrief
from calendar_sync.invitations import (
    Change,
    InvitationSource,
    MeetingChange,
    apply_invitation,
    extend_horizons,
)
from calendar_sync.trust import Asker, Role, read_invitations, who_asks
from core.errors import CalendarError
from core.links import Links
from core.settings import Settings
from core.types import ApprovalStatus, InboundStatus
from inbox.approval_reply import answer_approval
from inbox.approvals import Gate, check_gate
from inbox.process import Command, CommandResult, Delivery
from inbox.route import APPROVAL_REPLY, INVITATION
from outbox.render import Renderer
from scheduler.tasks import Job
from store import companies

PLAN_AFTER = frozenset({Change.CREATED, Change.UPDATED, Change.CANCELLED})


def build_commands(settings: Settings, renderer: Renderer, links: Links) -> Mapping[str, Command]:
    commands: dict[str, Command] = {}

    def invitation(session: Session, delivery: Delivery) -> CommandResult:
        if delivery.company_id is None:
            return CommandResult("no company for the recipient", InboundStatus.HELD)
        admitted = ""
        if not delivery.sender_trusted:
            gated = trust_gate(
                session,
                delivery,
                delivery.company_id,
                settings=settings,
                renderer=renderer,
                links=links,
            )
            if isinstance(gated, CommandResult):
                return gated
            admitted = gated
        source = InvitationSource(
            company_id=delivery.company_id,
            agent_id=delivery.agent_id,
            inbound_id=delivery.inbound.id,
            message_id=delivery.message.message_id,
            sender=delivery.sender,
            default_timezone=settings.default_timezone,
        )
        notes: list[str] = []
        refusals: list[str] = []
        changes: list[MeetingChange] = []
        created: list[int] = []
        for data in delivery.message.calendars:
            try:
                applied = apply_invitation(session, data, source, delivery.now)
            except CalendarError as exc:
                refusals.append(f"{exc.code}: {exc}")
                continue
            notes.extend(applied.notes)
            changes.extend(applied.changes)
            created.extend(applied.created_series)
        for change in changes:
            if change.change in PLAN_AFTER:
                plan_prebrief(
                    session,
                    change.meeting_id,
                    settings=settings,
                    renderer=renderer,
                    now=delivery.now,
                )
        for series_id in created:
            plan_imip_reply(
                session,
                series_id,
                settings=settings,
                renderer=renderer,
                links=links,
                now=delivery.now,
            )
        if not notes:
            return CommandResult("; ".join(refusals) or "no calendar", InboundStatus.REJECTED)
        return CommandResult(admitted + summarize(notes + refusals))

    def approval_reply(session: Session, delivery: Delivery) -> CommandResult:
        return answer_approval(
            session, delivery, links=links, commands=commands, mail_domain=settings.mail_domain
        )

    commands[INVITATION] = invitation
    commands[APPROVAL_REPLY] = approval_reply
    return commands


def trust_gate(
    session: Session,
    delivery: Delivery,
    company_id: int,
    *,
    settings: Settings,
    renderer: Renderer,
    links: Links,
) -> CommandResult | str:
    """An untrusted sender's invitation: held (and the admins asked once), rejected after a
    refusal, or let through after an approval — then the note to put before the summary."""
    message = delivery.message
    invited = read_invitations(message.calendars, settings.default_timezone)
    asker = who_asks(delivery.sender, message.forwarded, invited)
    if asker is None:
        return ""  # only replies (each checked against its attendee) or nothing readable
    gate = check_gate(
        session,
        company_id=company_id,
        inbound_id=delivery.inbound.id,
        sender=asker.email,
        topic=asker.topic,
        now=delivery.now,
    )
    earlier = " earlier" if gate.earlier else ""
    if gate.status is ApprovalStatus.APPROVED:
        return f"approved{earlier} by {gate.decided_by}: "
    if gate.status is ApprovalStatus.REFUSED:
        return CommandResult(f"refused{earlier} by {gate.decided_by}", InboundStatus.REJECTED)
    asked = None
    if gate.ask:
        held = HeldMessage(
            approval_id=gate.approval.id,
            sender=asker.email,
            sender_name=message.from_name,
            forwarded=asker.role is Role.FORWARDER,
            original_from=message.original_from,
            subject=message.subject,
            meetings=[
                AskedAbout(i.title, i.start, i.organizer, i.organizer_name)
                for i in invited
                if i.uid in asker.uids
            ][:20],
        )
        asked = plan_approval_request(
            session, held, settings=settings, renderer=renderer, links=links, now=delivery.now
        )
    return CommandResult(
        held_reason(session, company_id, asker, gate, asked is not None),
        InboundStatus.HELD,
    )


def held_reason(session: Session, company_id: int, asker: Asker, gate: Gate, asked: bool) -> str:
    company = companies.get_company(session, company_id)
    who = f"{asker.role.value} {asker.email}"
    reason = (
        f"held for an admin's approval: {who} is not a member of {company.name} and does not "
        "write from one of its verified domains"
    )
    if gate.approval.lead_id is not None:
        return f"{reason}; waits with approval {gate.approval.lead_id}, already asked"
    if gate.ask and not asked:
        return f"{reason}; the company has no owner or admin to ask"
    return f"{reason} (approval {gate.approval.id})"


def summarize(notes: list[str]) -> str:
    shown = notes[:20] + ([f"… {len(notes) - 20} more"] if len(notes) > 20 else [])
    return "; ".join(shown)


def build_jobs(settings: Settings, renderer: Renderer, connector: Connector) -> Mapping[str, Job]:
    """The periodic jobs, wired: live status and attaching, and the calendar horizon."""

    def lifecycle(session: Session, now: datetime) -> object:
        return advance(session, now, connector=connector, settings=settings, renderer=renderer)

    def horizon(session: Session, now: datetime) -> object:
        changes = extend_horizons(session, now, settings.default_timezone)
        for change in changes:
            if change.change in PLAN_AFTER:
                plan_prebrief(
                    session, change.meeting_id, settings=settings, renderer=renderer, now=now
                )
        return len(changes)

    return {"meeting-lifecycle": lifecycle, "calendar-horizon": horizon}
