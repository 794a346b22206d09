"""An admin answers an approval request by mail: "ja" or "nej" to its signed reply address.

The reply address names the approval (signed, with an expiry: a forged or expired one is
refused); only an owner or admin of the approval's company may decide by mail (the From
address), so a forwarded request decides nothing. Every refusal is recorded on the reply's
inbound row, and nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from core.addresses import ReplyAddress
from core.errors import NotFoundError, SignatureError, TokenExpiredError
from core.links import Links
from core.types import ApprovalStatus, InboundStatus
from inbox.approvals import Decision, decide, describe_decider
from inbox.forward import html_to_text
from inbox.parse import ParsedMessage
from inbox.process import Command, CommandResult, Delivery
from store import approvals, companies
from store.models import Approval

APPROVE_WORDS = frozenset({"ja", "godkänn", "godkänner", "godkänt", "yes", "approve", "approved"})
REFUSE_WORDS = frozenset({"nej", "avböj", "avböjer", "avböjt", "no", "refuse", "refused"})
_WORD_RE = re.compile(r"[^\W\d_]+")
_LEADING_MARKS = "*_\"'«»„“”(¡¿ "  # what may stand before the word: **Ja**, "Ja", (ja)


def read_decision(message: ParsedMessage) -> Decision | None:
    """The decision, when the first word the admin wrote is one; None otherwise — also when
    the reply begins with the quoted request."""
    text = message.text if message.text.strip() else html_to_text(message.html)
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith(">"):
            return None
        word = _WORD_RE.search(line.lower())
        if word is None or line[: word.start()].strip(_LEADING_MARKS):
            return None
        if word.group() in APPROVE_WORDS:
            return Decision.APPROVE
        if word.group() in REFUSE_WORDS:
            return Decision.REFUSE
        return None
    return None


def answer_approval(
    session: Session,
    delivery: Delivery,
    *,
    links: Links,
    commands: Mapping[str, Command],
    mail_domain: str,
) -> CommandResult:
    """The ``approval-reply`` command."""
    sender = delivery.sender
    found = _approval_for(session, delivery, links)
    if isinstance(found, CommandResult):
        return found
    delivery.inbound.company_id = found.company_id
    company = companies.get_company(session, found.company_id)
    if not companies.is_admin(session, company.id, sender):
        return _refused(f"{sender or 'the sender'} is not an owner or admin of {company.name}")
    decision = read_decision(delivery.message)
    if decision is None:
        return _refused(f"no ja/nej (yes/no) at the start of {sender}'s reply")
    decided = decide(
        session,
        found.id,
        decision,
        decided_by=sender,
        via="reply",
        commands=commands,
        mail_domain=mail_domain,
        now=delivery.now,
    )
    lead = decided.approval
    if not decided.changed:
        wanted = ApprovalStatus.APPROVED if decision is Decision.APPROVE else ApprovalStatus.REFUSED
        note = f"approval {lead.id} was already {lead.status} by {describe_decider(lead)}"
        if lead.status == wanted:
            return CommandResult(f"{note}; nothing changed")
        return _refused(f"{note}; {sender}'s {decision.value} changes nothing")
    return CommandResult(
        f"approval {lead.id} {lead.status} by {sender}: "
        f"{len(decided.inbound_ids)} held message(s) {lead.status}"
    )


def _approval_for(session: Session, delivery: Delivery, links: Links) -> Approval | CommandResult:
    """The approval the reply address names, or the refusal to record."""
    if not isinstance(delivery.recipient, ReplyAddress):
        return _refused("not sent to an approval reply address")
    try:
        approval_id = links.read_approval_reply(delivery.recipient, now=delivery.now)
        return approvals.get_approval(session, approval_id)
    except TokenExpiredError as exc:
        when = exc.expired_at.date().isoformat() if exc.expired_at else "earlier"
        return _refused(f"the reply address expired ({when})")
    except (SignatureError, NotFoundError) as exc:
        return _refused(str(exc))


def _refused(why: str) -> CommandResult:
    return CommandResult(f"approval reply refused: {why}", InboundStatus.REJECTED)
