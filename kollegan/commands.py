"""The command table: what each routed inbound command does, wired from the parts.

``inbox`` decides *which* command a message is for; the parts below do the work and meet in
the store. Nothing here decides anything itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from agent.prebrief import plan_prebrief
from calendar_sync.invitations import (
    SUPPORTED_METHODS,
    Change,
    InvitationSource,
    MeetingChange,
    apply_calendar,
    read_calendars,
)
from core.settings import Settings
from core.types import InboundStatus
from inbox.process import Command, CommandResult, Delivery
from inbox.route import INVITATION
from outbox.render import Renderer

PLAN_AFTER = frozenset({Change.CREATED, Change.UPDATED, Change.CANCELLED})


def build_commands(settings: Settings, renderer: Renderer) -> Mapping[str, Command]:
    def invitation(session: Session, delivery: Delivery) -> CommandResult:
        if delivery.company_id is None:
            return CommandResult("no company for the recipient", InboundStatus.HELD)
        calendars, problems = read_calendars(delivery.message.calendars, settings.default_timezone)
        source = InvitationSource(
            company_id=delivery.company_id,
            agent_id=delivery.agent_id,
            inbound_id=delivery.inbound.id,
            message_id=delivery.message.message_id,
            sender=delivery.sender,
        )
        changes: list[MeetingChange] = []
        for calendar in calendars:
            if calendar.method not in SUPPORTED_METHODS:
                problems.append(f"iTIP method {calendar.method} is not handled yet")
                continue
            changes.extend(apply_calendar(session, calendar, source, delivery.now))
        for change in changes:
            if change.change in PLAN_AFTER:
                plan_prebrief(
                    session,
                    change.meeting_id,
                    settings=settings,
                    renderer=renderer,
                    now=delivery.now,
                )
        if not changes:
            reason = "; ".join(problems) or "the calendar holds no meeting"
            status = InboundStatus.REJECTED if calendars == [] else InboundStatus.HELD
            return CommandResult(reason, status)
        return CommandResult(summarize(changes, problems))

    return {INVITATION: invitation}


def summarize(changes: list[MeetingChange], problems: list[str]) -> str:
    parts = [f"meeting {c.meeting_id} {c.change}" for c in changes[:20]]
    if len(changes) > 20:
        parts.append(f"… {len(changes) - 20} more")
    return "; ".join(parts + problems)
