"""The worker's use case for one stored message: parse → vet → resolve → route → command.

Runs inside one transaction opened by the task: the command's effect and the message's new
status commit together, so a crash anywhere leaves the message waiting, never half-done, and
the same message processed twice has one effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.addresses import AgentAddress, Recipient, decode_address
from core.errors import AddressError, ParseError
from core.types import InboundStatus
from inbox.parse import ParsedMessage, parse_message
from inbox.route import POSTMASTER, route
from inbox.rules import RuleContext, vet
from store import companies
from store.inbound import lock_for_processing, record_outcome
from store.models import InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a command gets: the stored row, the parsed message and who it is from and for."""

    inbound: InboundMessage
    message: ParsedMessage
    recipient: Recipient
    company_id: int | None
    agent_id: int | None
    sender: str
    sender_trusted: bool
    now: datetime


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A command's outcome: a one-line summary, and the status it leaves the message in."""

    summary: str
    status: InboundStatus = InboundStatus.PROCESSED


Command = Callable[[Session, Delivery], CommandResult]

HOLD_REASONS = {POSTMASTER: "mail for postmaster or abuse, kept for the operator to read"}


def process_inbound(
    session: Session,
    inbound_id: int,
    *,
    commands: Mapping[str, Command],
    mail_domain: str,
    now: datetime,
) -> InboundStatus | None:
    """Process one message if it still waits; return its new status (None: nothing to do)."""
    row = lock_for_processing(session, inbound_id)
    if row is None:
        return None
    try:
        message = parse_message(row.raw)
    except ParseError as exc:
        record_outcome(
            row, status=InboundStatus.REJECTED, now=now, reason=str(exc), rule_hits=["unparseable"]
        )
        return InboundStatus.REJECTED
    verdict = vet(message, RuleContext(mail_from=row.mail_from, mail_domain=mail_domain))
    if verdict.refusal is not None:
        record_outcome(
            row,
            status=InboundStatus.REJECTED,
            now=now,
            reason=verdict.refusal.reason,
            rule_hits=verdict.hits,
            sender=message.from_address,
        )
        return InboundStatus.REJECTED
    delivery, problem = _resolve(session, row, message, mail_domain, now)
    command_name = route(delivery.recipient, message) if delivery else None
    if delivery is None or command_name is None or command_name not in commands:
        reason = problem or HOLD_REASONS.get(
            command_name or "", "no command understood this message"
        )
        record_outcome(
            row,
            status=InboundStatus.HELD,
            now=now,
            reason=reason,
            rule_hits=verdict.hits,
            command=command_name,
            sender=message.from_address,
        )
        return InboundStatus.HELD
    result = commands[command_name](session, delivery)
    record_outcome(
        row,
        status=result.status,
        now=now,
        reason=result.summary,
        rule_hits=verdict.hits,
        command=command_name,
        sender=delivery.sender,
        sender_trusted=delivery.sender_trusted,
    )
    log.info("inbound %s %s by %s: %s", inbound_id, result.status, command_name, result.summary)
    return result.status


def _resolve(
    session: Session, row: InboundMessage, message: ParsedMessage, mail_domain: str, now: datetime
) -> tuple[Delivery | None, str | None]:
    """Tenant and sender, checked again with authority (RCPT only looked)."""
    try:
        recipient = decode_address(row.rcpt_to, mail_domain)
    except AddressError as exc:
        return None, f"recipient no longer ours: {exc}"
    sender = message.from_address or ""
    if not isinstance(recipient, AgentAddress):  # postmaster, or a reply address of ours
        return Delivery(row, message, recipient, None, None, sender, False, now), None
    if row.agent_id is None or row.company_id is None:
        return None, "no agent recorded for the recipient"
    trusted = bool(sender) and companies.is_trusted(session, row.company_id, sender)
    delivery = Delivery(row, message, recipient, row.company_id, row.agent_id, sender, trusted, now)
    return delivery, None
