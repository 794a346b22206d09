"""A meeting request Outlook sent as ``winmail.dat`` → iCalendar bytes (pure).

Such a request carries no text/calendar part: the meeting is a set of MAPI properties
(MS-OXOCAL, MS-OXCICAL). :func:`calendar_from_tnef` returns the ``.ics`` the TNEF carries as an
attachment if there is one, else a VCALENDAR built from those properties (message class
IPM.Schedule.Meeting.Request → METHOD:REQUEST, IPM.Schedule.Meeting.Canceled → METHOD:CANCEL),
else None. Times come out in UTC (PidLidAppointmentStartWhole is UTC); a recurring meeting's
pattern (PidLidAppointmentRecur) is not translated: only its first occurrence is described.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import datetime
from uuid import UUID

from icalendar import Calendar, Event, vCalAddress

from inbox.tnef import (
    ATT_DATE_END,
    ATT_DATE_SENT,
    ATT_DATE_START,
    Properties,
    Tnef,
    read_tnef,
)

MAX_CALENDAR_BYTES = 4 * 1024 * 1024
METHODS = {"ipm.schedule.meeting.request": "REQUEST", "ipm.schedule.meeting.canceled": "CANCEL"}

PSETID_APPOINTMENT = UUID("00062002-0000-0000-c000-000000000046")
PSETID_MEETING = UUID("6ed8da90-450b-101b-98da-00aa003f1305")
LID_START_WHOLE, LID_END_WHOLE, LID_LOCATION, LID_SEQUENCE = 0x820D, 0x820E, 0x8208, 0x8201
LID_WHERE, LID_GLOBAL_OBJECT_ID, LID_CLEAN_GLOBAL_OBJECT_ID = 0x0002, 0x0003, 0x0023
LID_OWNER_CRITICAL_CHANGE = 0x001A
TAG_MESSAGE_CLASS, TAG_SUBJECT, TAG_BODY = 0x001A, 0x0037, 0x1000
TAG_CLIENT_SUBMIT_TIME, TAG_START_DATE, TAG_END_DATE = 0x0039, 0x0060, 0x0061
TAG_REPRESENTING_NAME, TAG_REPRESENTING_EMAIL, TAG_REPRESENTING_SMTP = 0x0042, 0x0065, 0x5D02
TAG_SENDER_NAME, TAG_SENDER_EMAIL, TAG_SENDER_SMTP = 0x0C1A, 0x0C1F, 0x5D01
TAG_DISPLAY_NAME, TAG_EMAIL, TAG_SMTP, TAG_RECIPIENT_TYPE = 0x3001, 0x3003, 0x39FE, 0x0C15
TAG_ATTACH_LONG_FILENAME, TAG_ATTACH_FILENAME, TAG_ATTACH_MIME = 0x3707, 0x3704, 0x370E
TAG_ATTACH_DATA = 0x3701

_ROLES = {1: "REQ-PARTICIPANT", 2: "OPT-PARTICIPANT", 3: "NON-PARTICIPANT"}
GOID_CLASS_ID = bytes.fromhex("040000008200E00074C5B7101A82E008")
VCAL_UID_MARKER = b"vCal-Uid\x01\x00\x00\x00"


def calendar_from_tnef(data: bytes, *, fallback_organizer: str | None = None) -> bytes | None:
    """The meeting in a winmail.dat as iCalendar bytes; None when it holds none we can read.

    ``fallback_organizer`` (the From of the mail that carried it) becomes the ORGANIZER when
    the TNEF names no SMTP address for one (Exchange-internal senders have X.500 ones only).
    """
    try:
        tnef = read_tnef(data)
        return _enclosed_calendar(tnef) or _meeting_calendar(tnef, fallback_organizer)
    except Exception:  # TnefError, or icalendar refusing a value: no meeting we can read
        return None


def _enclosed_calendar(tnef: Tnef) -> bytes | None:
    for attachment in tnef.attachments:
        props = attachment.props
        names = (
            attachment.title,
            props.text(TAG_ATTACH_LONG_FILENAME),
            props.text(TAG_ATTACH_FILENAME),
        )
        is_calendar = props.text(TAG_ATTACH_MIME).lower() == "text/calendar" or any(
            name.lower().endswith((".ics", ".vcs")) for name in names
        )
        data = attachment.data or props.binary(TAG_ATTACH_DATA).rstrip(b"\x00")
        if is_calendar and data and len(data) <= MAX_CALENDAR_BYTES:
            return data
    return None


def global_object_uid(goid: bytes) -> str | None:
    """The UID Outlook gives a meeting: the vCal-Uid inside, else the clean id in hex."""
    if len(goid) < 40 or goid[:16] != GOID_CLASS_ID:
        return goid.hex().upper() or None
    size = struct.unpack_from("<I", goid, 36)[0]
    data = goid[40 : 40 + size]
    if data.startswith(VCAL_UID_MARKER):  # a meeting first written as iCalendar keeps its UID
        uid = data[len(VCAL_UID_MARKER) :].split(b"\x00", 1)[0].decode("utf-8", "replace")
        if uid.strip():
            return uid.strip()
    clean = goid[:16] + b"\x00\x00\x00\x00" + goid[20 : 40 + size]  # without the instance date
    return clean.hex().upper()


def _meeting_calendar(tnef: Tnef, fallback_organizer: str | None) -> bytes | None:
    props = tnef.props
    method = METHODS.get((props.text(TAG_MESSAGE_CLASS) or tnef.message_class).lower())
    start = (
        props.time(LID_START_WHOLE, PSETID_APPOINTMENT)
        or props.time(TAG_START_DATE)
        or tnef.dates.get(ATT_DATE_START)
    )
    if method is None or start is None:
        return None
    end = (
        props.time(LID_END_WHOLE, PSETID_APPOINTMENT)
        or props.time(TAG_END_DATE)
        or tnef.dates.get(ATT_DATE_END)
        or start
    )
    subject = props.text(TAG_SUBJECT) or tnef.subject
    organizer = _organizer(tnef, fallback_organizer)
    event = Event()
    event.add("uid", _uid(props) or _derived_uid(subject, start, organizer))
    stamp = (
        props.time(LID_OWNER_CRITICAL_CHANGE, PSETID_MEETING)
        or props.time(TAG_CLIENT_SUBMIT_TIME)
        or tnef.dates.get(ATT_DATE_SENT)
    )
    if stamp is not None:
        event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", max(end, start))
    event.add("sequence", max(0, props.integer(LID_SEQUENCE, PSETID_APPOINTMENT) or 0))
    event.add("summary", subject)
    location = props.text(LID_LOCATION, PSETID_APPOINTMENT) or props.text(LID_WHERE, PSETID_MEETING)
    if location:
        event.add("location", location)
    description = props.text(TAG_BODY) or tnef.body
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if organizer is not None:
        event.add("organizer", _address(*organizer))
    for attendee in _attendees(tnef.recipients):
        event.add("attendee", attendee)
    calendar = Calendar()
    calendar.add("prodid", "-//Kollegan//winmail.dat//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def _uid(props: Properties) -> str | None:
    goid = props.binary(LID_CLEAN_GLOBAL_OBJECT_ID, PSETID_MEETING) or props.binary(
        LID_GLOBAL_OBJECT_ID, PSETID_MEETING
    )
    return global_object_uid(goid) if goid else None


def _derived_uid(subject: str, start: datetime, organizer: tuple[str, str] | None) -> str:
    """The same meeting sent twice without a global object id still gets one UID."""
    seed = f"{subject}\n{start.isoformat()}\n{organizer[1] if organizer else ''}"
    return "tnef-" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def _organizer(tnef: Tnef, fallback: str | None) -> tuple[str, str] | None:
    props = tnef.props
    for name_tag, smtp_tag, email_tag in (
        (TAG_REPRESENTING_NAME, TAG_REPRESENTING_SMTP, TAG_REPRESENTING_EMAIL),
        (TAG_SENDER_NAME, TAG_SENDER_SMTP, TAG_SENDER_EMAIL),
    ):
        address = _smtp(props.text(smtp_tag)) or _smtp(props.text(email_tag))
        if address:
            return props.text(name_tag), address
    if tnef.sender is not None and _smtp(tnef.sender[1]):
        return tnef.sender[0], _smtp(tnef.sender[1])
    return ("", fallback) if fallback else None


def _attendees(recipients: list[Properties]) -> list[vCalAddress]:
    found: dict[str, vCalAddress] = {}
    for row in recipients[:1000]:
        address = _smtp(row.text(TAG_SMTP)) or _smtp(row.text(TAG_EMAIL))
        if not address or address in found:
            continue
        attendee = _address(row.text(TAG_DISPLAY_NAME), address)
        kind = row.integer(TAG_RECIPIENT_TYPE)
        attendee.params["ROLE"] = _ROLES.get(kind or 1, "REQ-PARTICIPANT")
        if kind == 3:
            attendee.params["CUTYPE"] = "RESOURCE"
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        attendee.params["RSVP"] = "TRUE"
        found[address] = attendee
    return list(found.values())


def _smtp(value: str) -> str:
    """An SMTP address, lower-cased; "" for an Exchange X.500 address or anything else."""
    value = value.strip().removeprefix("SMTP:").removeprefix("smtp:").strip()
    if "@" not in value or len(value) > 320 or any(c.isspace() or c in "<>\"',;:" for c in value):
        return ""
    return value.lower()


def _address(name: str, address: str) -> vCalAddress:
    value = vCalAddress(f"mailto:{address}")
    if name:
        value.params["CN"] = name
    return value
