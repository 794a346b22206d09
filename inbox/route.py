"""Which command a vetted message is for (pure). Command names are stable kebab-case."""

from __future__ import annotations

from core.addresses import Recipient, RoleAddress
from inbox.parse import ParsedMessage

INVITATION = "invitation"
POSTMASTER = "postmaster"


def route(recipient: Recipient, message: ParsedMessage) -> str | None:
    """The command to run, or None when no command understands the message (it is held)."""
    if isinstance(recipient, RoleAddress):
        return POSTMASTER
    if message.calendars:
        return INVITATION
    return None
