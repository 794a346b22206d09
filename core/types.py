"""Domain value types shared by every part (stable names: they appear in rows and logs)."""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    SMTP = "smtp"
    MAILGUN = "mailgun"
    CLI = "cli"


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored, waiting for the worker
    PROCESSED = "processed"  # a command ran and its effect is committed
    REJECTED = "rejected"  # an acceptance rule refused it (reason + rule hits recorded)
    HELD = "held"  # kept for a person to look at (no command, postmaster, …)
    FAILED = "failed"  # the command raised; error kept, can be re-run


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    LOBBY = "lobby"
    ACTIVE = "active"
    POST_PROCESSING = "post-processing"
    DONE = "done"
    CANCELLED = "cancelled"


class OutboundStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for send_at
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"  # gave up after retries
    CANCELLED = "cancelled"  # no longer wanted (meeting cancelled, …)


class OutboundKind(StrEnum):
    PRE_BRIEF = "pre-brief"
    NOTES_REQUEST = "notes-request"  # the agent could not attach: "send me the notes"
    APPROVAL_REQUEST = "approval-request"
    IMIP_REPLY = "imip-reply"


class ApprovalStatus(StrEnum):
    PENDING = "pending"  # the message is held until an admin decides
    APPROVED = "approved"  # processed as if the sender were trusted
    REFUSED = "refused"  # the message is rejected


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class Locale(StrEnum):
    SV = "sv"
    EN = "en"
