"""The command table: what each routed inbound command does, wired from the parts.

``inbox`` decides *which* command a message is for; the parts below do the work and meet in
the store. Nothing here decides anything itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from agent.attendance import advance
from agent.connectors import Connector
from agent.prebrief import plan_prebrief
from calendar_sync.invitations import (
    Change,
    InvitationSource,
    MeetingChange,
    apply_invitation,
    extend_horizons,
)
from core.errors import CalendarError
from core.settings import Settings
from core.types import InboundStatus
from inbox.process import Command, CommandResult, Delivery
from inbox.route import INVITATION
from outbox.render import Renderer
from scheduler.tasks import Job

PLAN_AFTER = frozenset({Change.CREATED, Change.UPDATED, Change.CANCELLED})


def build_commands(settings: Settings, renderer: Renderer) -> Mapping[str, Command]:
    def invitation(session: Session, delivery: Delivery) -> CommandResult:
        if delivery.company_id is None:
            return CommandResult("no company for the recipient", InboundStatus.HELD)
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
        for data in delivery.message.calendars:
            try:
                applied = apply_invitation(session, data, source, delivery.now)
            except CalendarError as exc:
                refusals.append(f"{exc.code}: {exc}")
                continue
            notes.extend(applied.notes)
            changes.extend(applied.changes)
        for change in changes:
            if change.change in PLAN_AFTER:
                plan_prebrief(
                    session,
                    change.meeting_id,
                    settings=settings,
                    renderer=renderer,
                    now=delivery.now,
                )
        if not notes:
            return CommandResult("; ".join(refusals) or "no calendar", InboundStatus.REJECTED)
        return CommandResult(summarize(notes + refusals))

    return {INVITATION: invitation}


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
