"""Acceptance rules: one ordered table of small named checks (Mailman's habit).

Every rule runs; all hits are recorded on the message; the first hit decides the refusal.
Rules are pure: they see the parsed message and the envelope, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from inbox.parse import ParsedMessage


@dataclass(frozen=True, slots=True)
class RuleContext:
    mail_from: str  # envelope sender ("" for a bounce)
    mail_domain: str


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # stable kebab-case: it appears in rows and logs
    reason: str
    check: Callable[[ParsedMessage, RuleContext], bool]


@dataclass(frozen=True, slots=True)
class Verdict:
    hits: tuple[str, ...]
    refusal: Rule | None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def _is_own_mail(message: ParsedMessage, context: RuleContext) -> bool:
    domain = context.mail_domain
    return (
        "x-kollegan-kind" in message.headers
        or message.from_domain == domain
        or bool(message.message_id and message.message_id.lower().endswith("@" + domain))
    )


def _is_loop(message: ParsedMessage, context: RuleContext) -> bool:
    """X-Loop names our domain (or a host or address in it) — not merely contains its text."""
    domain = context.mail_domain.lower()
    for word in re.split(r"[\s,;<>]+", message.headers.get("x-loop", "").lower()):
        host = word.rpartition("@")[2].rstrip(".")
        if host == domain or host.endswith("." + domain):
            return True
    return False


def _keyword(value: str) -> str:
    """The first word of a structured header, comments dropped: ``no (by hand)`` → ``no``."""
    while True:
        uncommented = _COMMENT_RE.sub(" ", value)
        if uncommented == value:
            break
        value = uncommented
    return value.split(";")[0].strip().lower()


_COMMENT_RE = re.compile(r"\([^()]*\)")


def _is_auto_submitted(message: ParsedMessage, _context: RuleContext) -> bool:
    """An automatic reply or bulk mail. A calendar system's invitation is exempt from the
    Auto-Submitted part: iMIP is machine-to-machine by nature, and Google Calendar marks its
    invitations ``Auto-Submitted: auto-generated`` (RFC 3834 asks not to *answer* such mail
    with an auto-reply, which an iMIP REPLY is not)."""
    headers = message.headers
    auto = _keyword(headers.get("auto-submitted", "no"))
    precedence = _keyword(headers.get("precedence", ""))
    return (
        (auto not in ("", "no") and not message.calendars)
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
    )


def _is_bounce(message: ParsedMessage, context: RuleContext) -> bool:
    sender = context.mail_from.strip().strip("<>").lower()
    local = sender.split("@", 1)[0]
    return (
        sender == ""
        or local in ("mailer-daemon", "postmaster")
        or message.content_type == "multipart/report"
        or "x-failed-recipients" in message.headers
    )


def _has_no_content(message: ParsedMessage, _context: RuleContext) -> bool:
    return not message.has_content


def _has_no_sender(message: ParsedMessage, _context: RuleContext) -> bool:
    return message.from_address is None


RULES: tuple[Rule, ...] = (
    Rule("own-mail", "our own mail came back (a loop)", _is_own_mail),
    Rule("loop", "the message has been through Kollegan before (X-Loop)", _is_loop),
    Rule("bounce", "a delivery status notification or bounce", _is_bounce),
    Rule(
        "auto-submitted",
        "an automatic reply or bulk mail (Auto-Submitted/Precedence)",
        _is_auto_submitted,
    ),
    Rule("no-sender", "no usable From address", _has_no_sender),
    Rule("no-content", "no text, HTML, calendar or attachment to act on", _has_no_content),
)


def vet(message: ParsedMessage, context: RuleContext, rules: tuple[Rule, ...] = RULES) -> Verdict:
    hits = tuple(rule.name for rule in rules if rule.check(message, context))
    refusal = next((rule for rule in rules if rule.name in hits), None)
    return Verdict(hits=hits, refusal=refusal)
