"""RFC 5546's required properties per method (pure): a message missing them is refused by name
rather than half-applied."""

from __future__ import annotations

from calendar_sync.ical import CalendarObject

CHECKED = frozenset({"REPLY"})  # the methods refusal_for has rules for


def refusal_for(calendar: CalendarObject) -> str | None:
    """None when the message may be applied, else the name of what is missing."""
    if calendar.method == "REPLY":
        for event in calendar.events:
            if event.organizer is None:
                return "no-organizer"  # RFC 5546 §3.2.3: ORGANIZER 1
            if not event.attendees:
                return "no-attendee"  # …and exactly the replying ATTENDEE
    return None
