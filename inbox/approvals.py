"""Held for an admin's approval: the gate a message from an untrusted sender meets, and the
decision that lets it through or turns it away.

- **Gate.** One approval row per held message. The first pending one for a (company, sender,
  topic) — the topic names what the message would change, e.g. the invitation's UID — is the
  *lead*, and only a lead's request is mailed to the admins; a sender who sends an update of
  the same meeting while the first waits adds a follower, not another mail. Once decided, the
  decision stands for that sender and topic: later updates and cancellations of an approved
  meeting apply, and those of a refused one are rejected without asking again.
- **Decision.** Deciding a lead decides its pending followers too. Approving re-processes each
  held message, in the order they came, inside the caller's transaction — the gate then finds
  the approval and lets it through; refusing rejects them ("refused by <admin>").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from core.types import ApprovalStatus, InboundStatus
from inbox.process import Command, process_inbound
from store import approvals as store
from store.inbound import get_inbound, record_outcome
from store.models import Approval, InboundMessage


class Decision(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Gate:
    """What the gate says about one message: ``status`` is the approval's, and ``ask`` is True
    when a request must be mailed (a new lead, or a retried one)."""

    approval: Approval
    status: ApprovalStatus
    ask: bool
    earlier: bool = False  # decided for an earlier message about the same thing

    @property
    def decided_by(self) -> str:
        return describe_decider(self.approval)


def check_gate(
    session: Session, *, company_id: int, inbound_id: int, sender: str, topic: str, now: datetime
) -> Gate:
    """The approval for this message: found, carried over from a decision, or made now."""
    sender = sender.strip().lower()
    own = store.find_for_inbound(session, inbound_id)
    if own is not None:
        status = ApprovalStatus(own.status)
        return Gate(own, status, ask=status is ApprovalStatus.PENDING and own.lead_id is None)
    decided = store.find_decided(session, company_id, sender, topic)
    if decided is not None:
        return Gate(decided, ApprovalStatus(decided.status), ask=False, earlier=True)
    lead = store.find_pending_lead(session, company_id, sender, topic)
    own = store.add_approval(
        session,
        company_id=company_id,
        inbound_id=inbound_id,
        sender=sender,
        topic=topic,
        lead_id=lead.id if lead else None,
        now=now,
    )
    return Gate(own, ApprovalStatus.PENDING, ask=lead is None)


def describe_decider(approval: Approval) -> str:
    if approval.decided_by:
        return approval.decided_by
    return "an admin (approval link)" if approval.decided_via == "link" else "an admin"


# -- deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decided:
    approval: Approval
    changed: bool  # False: it had been decided before (nothing changed now)
    inbound_ids: tuple[int, ...] = ()  # the held messages released or rejected now


def decide(
    session: Session,
    approval_id: int,
    decision: Decision,
    *,
    decided_by: str | None,
    via: str,
    commands: Mapping[str, Command],
    mail_domain: str,
    now: datetime,
) -> Decided:
    """Decide a pending approval (and its followers); an approval decided before stays as it
    was. :class:`~core.errors.NotFoundError` for an approval that does not exist."""
    approval = store.get_approval(session, approval_id, lock=True)
    if approval.lead_id is not None:  # a follower's link: its lead decides the group
        approval = store.get_approval(session, approval.lead_id, lock=True)
    if approval.status != ApprovalStatus.PENDING:
        return Decided(approval, changed=False)
    group = list(store.pending_group(session, approval))
    status = ApprovalStatus.APPROVED if decision is Decision.APPROVE else ApprovalStatus.REFUSED
    for row in group:
        row.status, row.decided_at = status.value, now
        row.decided_by, row.decided_via = decided_by, via
    session.flush()
    decider = describe_decider(approval)
    released = []
    for row in group:
        held = get_inbound(session, row.inbound_id)
        if held.status != InboundStatus.HELD:
            continue  # retried or re-run meanwhile: its own outcome stands
        released.append(held.id)
        if status is ApprovalStatus.REFUSED:
            _reject(held, f"refused by {decider}", now)
            continue
        held.status = InboundStatus.RECEIVED.value
        session.flush()
        process_inbound(session, held.id, commands=commands, mail_domain=mail_domain, now=now)
    return Decided(approval, changed=True, inbound_ids=tuple(released))


def _reject(held: InboundMessage, reason: str, now: datetime) -> None:
    record_outcome(
        held,
        status=InboundStatus.REJECTED,
        now=now,
        reason=reason,
        rule_hits=held.rule_hits,
        command=held.command,
        sender=held.sender,
        sender_trusted=held.sender_trusted,
    )
