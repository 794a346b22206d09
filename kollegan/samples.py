"""A sample invitation, as Outlook would send it (used by ``kollegan demo`` and the bench)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText


def sample_invitation(
    *,
    to: str,
    organizer: str,
    organizer_name: str,
    attendees: Sequence[tuple[str, str]],
    title: str,
    start: datetime,
    duration: timedelta = timedelta(minutes=45),
    timezone: str = "Europe/Stockholm",
    agenda: str = "",
    join_url: str | None = None,
    uid: str | None = None,
    sequence: int = 0,
    now: datetime,
    message_id: str | None = None,
) -> bytes:
    local_start = start.astimezone(ZoneInfo(timezone))
    calendar = Calendar()
    calendar.add("prodid", "-//Kollegan//sample invitation//SV")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid or f"{uuid.uuid4()}@kollegan.sample")
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    event.add("dtstart", local_start)
    event.add("dtend", local_start + duration)
    event.add("summary", title)
    description = agenda
    if join_url:
        description += (
            "\n\n________________________________________________________________________________\n"
            f"Microsoft Teams-möte\nAnslut: {join_url}\n"
        )
        event.add("x-microsoft-skypeteamsmeetingurl", join_url)
    event.add("description", description)
    event.add("location", "Microsoft Teams-möte" if join_url else "")
    chair = vCalAddress(f"mailto:{organizer}")
    chair.params["cn"] = vText(organizer_name)
    event.add("organizer", chair)
    for email, name in [*attendees, (to, "Kollegan")]:
        person = vCalAddress(f"mailto:{email}")
        person.params["cn"] = vText(name)
        person.params["role"] = vText("REQ-PARTICIPANT")
        person.params["partstat"] = vText("NEEDS-ACTION")
        person.params["rsvp"] = vText("TRUE")
        event.add("attendee", person, encode=False)
    calendar.add_component(event)

    message = EmailMessage(policy=SMTP)
    message["From"] = f"{organizer_name} <{organizer}>"
    message["To"] = to
    message["Subject"] = title
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id or make_msgid(domain=organizer.rsplit("@", 1)[-1])
    message.set_content(f"{title}\n\n{agenda}\n", charset="utf-8")
    message.add_alternative(
        calendar.to_ical(),
        maintype="text",
        subtype="calendar",
        params={"method": "REQUEST", "charset": "utf-8"},
    )
    return message.as_bytes()
