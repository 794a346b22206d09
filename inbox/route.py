"""Which command a vetted message is for (pure). Command names are stable kebab-case."""

from __future__ import annotations

from core.addresses import Recipient, ReplyAddress, RoleAddress
from inbox.parse import ParsedMessage

INVITATION = "invitation"
POSTMASTER = "postmaster"
APPROVAL_REPLY = "approval-reply"
REPLY_COMMANDS = {"approval": APPROVAL_REPLY}  # reply address kind → command


def route(recipient: Recipient, message: ParsedMessage) -> str | None:
    """The command to run, or None when no command understands the message (it is held)."""
    if isinstance(recipient, RoleAddress):
        return POSTMASTER
    if isinstance(recipient, ReplyAddress):
        return REPLY_COMMANDS.get(recipient.kind)
    if message.calendars:
        return INVITATION
    return None
