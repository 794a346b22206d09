"""Whose trust an iTIP message needs before it may change a company's meetings (pure).

RFC 5546 splits the methods by who sends them: the organizer sends REQUEST, CANCEL, ADD,
PUBLISH and DECLINECOUNTER; an attendee sends REPLY, COUNTER and REFRESH. Only REQUEST and
CANCEL (and a bare .ics, read as a REQUEST) change anything here, so only they need trust. A
REPLY records the replying attendee's own answer and is checked where it is applied (the From
address must be that attendee); the rest are only recorded.

The rule — the person who *asked* for the change must be trusted by the company:

- the organizer wrote to us (From is the ORGANIZER): the organizer asked;
- someone forwarded an invitation — enclosed, inline, or as Outlook does when "Forward" is used
  on a meeting: a new REQUEST sent by the forwarder, the ORGANIZER left as it was (From is not
  the ORGANIZER): the forwarder asked.

Either way the person is the From address: the ORGANIZER written inside a calendar never lends
its trust to anyone else, so an outsider writing a member as ORGANIZER from their own address
gets nothing applied. (That the From address itself is not forged — SPF, DKIM, DMARC — is
checked nowhere yet.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from calendar_sync.ical import describe, read_calendars
from core.errors import CalendarError

NEEDS_TRUST = frozenset({"REQUEST", "CANCEL", ""})
MAX_TOPIC = 500  # the column's width


class Role(StrEnum):
    ORGANIZER = "organizer"  # the organizer wrote to us
    FORWARDER = "forwarder"  # someone else sent the organizer's invitation on


@dataclass(frozen=True, slots=True)
class Invited:
    """One event of a message, as the trust rule and an admin asked to approve it see it."""

    method: str
    uid: str
    title: str
    start: datetime | None
    organizer: str | None
    organizer_name: str | None


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked for the change: their address is the one whose trust counts."""

    email: str
    role: Role
    organizers: tuple[str, ...]  # the calendars' organizers (for the admins to read)
    uids: tuple[str, ...]  # what the message would change

    @property
    def topic(self) -> str:
        """What an approval is about: the same sender asking again about these UIDs asks
        about the same thing."""
        topic = "uid:" + " ".join(sorted(self.uids))
        if len(topic) <= MAX_TOPIC:
            return topic
        return "uid-sha256:" + hashlib.sha256(topic.encode()).hexdigest()


def read_invitations(calendars: Sequence[bytes], default_timezone: str) -> list[Invited]:
    """The events of every readable calendar; unreadable ones are left to be refused by name
    where the message is applied."""
    found: list[Invited] = []
    for data in calendars:
        try:
            objects = [
                describe(c, default_timezone) for c in read_calendars(data, default_timezone)
            ]
        except CalendarError:
            continue
        for calendar in objects:
            for event in calendar.events:
                organizer = event.organizer
                found.append(
                    Invited(
                        method=calendar.method,
                        uid=event.uid,
                        title=event.title,
                        start=event.start,
                        organizer=organizer.email if organizer else None,
                        organizer_name=organizer.name if organizer else None,
                    )
                )
    return found


def who_asks(sender: str, forwarded: bool, invited: Sequence[Invited]) -> Asker | None:
    """The person whose trust the message needs; None when nothing in it needs trust."""
    changing = [event for event in invited if event.method in NEEDS_TRUST]
    if not changing:
        return None
    sender = sender.strip().lower()
    organizers = tuple(dict.fromkeys(e.organizer for e in changing if e.organizer))
    direct = not forwarded and all(organizer == sender for organizer in organizers)
    return Asker(
        email=sender,
        role=Role.ORGANIZER if direct else Role.FORWARDER,
        organizers=organizers,
        uids=tuple(dict.fromkeys(e.uid for e in changing)),
    )
