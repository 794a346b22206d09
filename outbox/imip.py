"""The iCalendar object of an iMIP REPLY (RFC 5546 §3.2.3, sent as RFC 6047 says) (pure).

A REPLY names the meeting (UID, SEQUENCE; RECURRENCE-ID only for one occurrence — absent
here: the answer is for the whole series), its ORGANIZER, and exactly one ATTENDEE: the one
answering, with its PARTSTAT. COMMENT carries a line for the organizer to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Kollegan//iMIP reply//SV"


@dataclass(frozen=True, slots=True)
class Reply:
    uid: str
    sequence: int
    organizer: str
    organizer_name: str | None
    attendee: str
    attendee_name: str
    partstat: str  # ACCEPTED, DECLINED, TENTATIVE
    summary: str
    comment: str
    dtstamp: datetime


def reply_calendar(reply: Reply) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = Event()
    event.add("uid", reply.uid)
    event.add("dtstamp", reply.dtstamp)
    event.add("sequence", reply.sequence)
    organizer = vCalAddress(f"mailto:{reply.organizer}")
    if reply.organizer_name:
        organizer.params["cn"] = vText(reply.organizer_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{reply.attendee}")
    attendee.params["cn"] = vText(reply.attendee_name)
    attendee.params["partstat"] = vText(reply.partstat)
    event.add("attendee", attendee)
    if reply.summary:
        event.add("summary", reply.summary)
    event.add("comment", reply.comment)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
