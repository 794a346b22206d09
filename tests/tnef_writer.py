"""A small TNEF writer (MS-OXTNEF) for test fixtures: Outlook's winmail.dat, written by us.

A TNEF stream is the signature 0x223E9F78, a legacy key, then attribute records: level (1 byte:
message or attachment), attrID (4 bytes: type << 16 | id), length (4), the data, and a checksum
(2: the sum of the data bytes mod 65536). attMsgProps, attRecipTable and attAttachment hold MAPI
property lists: a count, then per property its tag, for a named property its set GUID and LID,
then the values (variable-length ones counted, sized and padded to 4 bytes).

:func:`meeting_request` writes what Outlook writes for a meeting request or cancellation: the
TNEF attributes, the MAPI properties (PidLidAppointmentStartWhole/EndWhole, PidLidLocation,
PidLidGlobalObjectId, PidLidAppointmentSequence, the sender and sent-representing names and
addresses, PidTagBody) and a recipient table.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE, LEVEL_ATTACHMENT = 0x01, 0x02

# attrIDs: (attribute type << 16) | attribute id (MS-OXTNEF 2.1.3.2)
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_FROM = 0x00008000
ATT_SUBJECT = 0x00018004
ATT_DATE_SENT = 0x00038005
ATT_DATE_START = 0x00030006
ATT_DATE_END = 0x00030007
ATT_MESSAGE_ID = 0x00018009
ATT_PRIORITY = 0x0004800D
ATT_BODY = 0x0002800C
ATT_MSG_PROPS = 0x00069003
ATT_RECIP_TABLE = 0x00069004
ATT_ATTACH_RENDDATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005

# MAPI property types
PT_SHORT, PT_LONG, PT_BOOLEAN = 0x0002, 0x0003, 0x000B
PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x001E, 0x001F, 0x0040, 0x0102

PSETID_APPOINTMENT = UUID("00062002-0000-0000-c000-000000000046")
PSETID_MEETING = UUID("6ed8da90-450b-101b-98da-00aa003f1305")
GOID_CLASS_ID = bytes.fromhex("040000008200E00074C5B7101A82E008")
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

Value = int | bool | str | bytes | datetime


@dataclass(frozen=True, slots=True)
class Prop:
    """One MAPI property: a tag (or a named property's LID and set) with its type and value."""

    kind: int
    tag: int
    value: Value
    guid: UUID | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    address: str
    recipient_type: int = 1  # 1 To (required), 2 Cc (optional), 3 Bcc (resource)


@dataclass(frozen=True, slots=True)
class Meeting:
    message_class: str = "IPM.Schedule.Meeting.Request"
    subject: str = "Leverantörsgenomgång"
    start: datetime = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)
    end: datetime = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)
    sent: datetime = datetime(2026, 11, 23, 9, 12, tzinfo=UTC)
    location: str = "Konferensrum Vänern"
    body: str = "Hej!\r\nVi går igenom leverantörernas anbud.\r\n/Dan"
    organizer_name: str = "Dan Dahl"
    organizer: str = "dan@partner.example"
    sequence: int | None = 0
    global_object_id: bytes | None = None
    recipients: Sequence[Recipient] = field(default_factory=tuple)
    attachments: Sequence[tuple[str, bytes]] = field(default_factory=tuple)  # name, data
    with_appointment_props: bool = True  # False: a plain message, no meeting properties


def global_object_id(
    created: datetime, data: bytes, instance: tuple[int, int, int] = (0, 0, 0)
) -> bytes:
    """PidLidGlobalObjectId (MS-OXOCAL 2.2.1.27): class id, instance date, time, size, data."""
    year, month, day = instance
    return (
        GOID_CLASS_ID
        + struct.pack(">H", year)
        + bytes([month, day])
        + struct.pack("<Q", filetime(created))
        + bytes(8)
        + struct.pack("<I", len(data))
        + data
    )


def filetime(moment: datetime) -> int:
    delta = moment - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# -- records --------------------------------------------------------------------------------


def record(level: int, attr_id: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", checksum)


def stream(records: Sequence[bytes], key: int = 0x5A3C) -> bytes:
    return struct.pack("<IH", SIGNATURE, key) + b"".join(records)


def string8(text: str) -> bytes:
    return text.encode("cp1252") + b"\x00"


def dtr(moment: datetime) -> bytes:
    """A DTR (a SYSTEMTIME without milliseconds): year … second, then the day of the week."""
    weekday = (moment.weekday() + 1) % 7  # Sunday is 0
    return struct.pack(
        "<7H",
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        weekday,
    )


def triple(name: str, address: str) -> bytes:
    """attFrom's TRP: id 4, sizes, the display name and "SMTP:address", then an empty TRP."""
    name_bytes, address_bytes = string8(name), string8(f"SMTP:{address}")
    name_bytes += bytes(len(name_bytes) % 2)
    address_bytes += bytes(len(address_bytes) % 2)
    body = name_bytes + address_bytes
    header = struct.pack("<4H", 0x0004, 8 + len(body), len(name_bytes), len(address_bytes))
    return header + body + bytes(8)


# -- MAPI property lists --------------------------------------------------------------------


def properties(props: Sequence[Prop]) -> bytes:
    out = [struct.pack("<I", len(props))]
    next_named_id = 0x8000
    for prop in props:
        prop_id = prop.tag
        if prop.guid is not None:  # named: an id of our own, then GUID, kind 0 (LID), LID
            prop_id, next_named_id = next_named_id, next_named_id + 1
        out.append(struct.pack("<HH", prop.kind, prop_id))
        if prop.guid is not None:
            out.append(prop.guid.bytes_le + struct.pack("<II", 0, prop.tag))
        out.append(_value(prop.kind, prop.value))
    return b"".join(out)


def _value(kind: int, value: Value) -> bytes:
    if kind in (PT_SHORT, PT_BOOLEAN):
        assert isinstance(value, int)
        return struct.pack("<H", int(value)) + bytes(2)
    if kind == PT_LONG:
        assert isinstance(value, int)
        return struct.pack("<i", value)
    if kind == PT_SYSTIME:
        assert isinstance(value, datetime)
        return struct.pack("<Q", filetime(value))
    if kind == PT_UNICODE:
        assert isinstance(value, str)
        data = value.encode("utf-16-le") + b"\x00\x00"
    elif kind == PT_STRING8:
        assert isinstance(value, str)
        data = string8(value)
    elif kind == PT_BINARY:
        assert isinstance(value, bytes)
        data = value
    else:
        raise ValueError(f"no writer for MAPI type {kind:#06x}")
    return struct.pack("<II", 1, len(data)) + data + bytes(-len(data) % 4)


def recipient_table(recipients: Sequence[Recipient]) -> bytes:
    rows = [
        properties(
            [
                Prop(PT_UNICODE, 0x3001, recipient.name),  # PidTagDisplayName
                Prop(PT_UNICODE, 0x3002, "SMTP"),  # PidTagAddressType
                Prop(PT_UNICODE, 0x3003, recipient.address),  # PidTagEmailAddress
                Prop(PT_UNICODE, 0x39FE, recipient.address),  # PidTagSmtpAddress
                Prop(PT_LONG, 0x0C15, recipient.recipient_type),  # PidTagRecipientType
            ]
        )
        for recipient in recipients
    ]
    return struct.pack("<I", len(rows)) + b"".join(rows)


# -- what Outlook writes ----------------------------------------------------------------------


def meeting_request(meeting: Meeting) -> bytes:
    """A winmail.dat as Outlook writes it for a meeting request (or a plain message)."""
    records = [
        record(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000)),
        record(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0)),
        record(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, string8(meeting.message_class)),
        record(LEVEL_MESSAGE, ATT_FROM, triple(meeting.organizer_name, meeting.organizer)),
        record(LEVEL_MESSAGE, ATT_SUBJECT, string8(meeting.subject)),
        record(LEVEL_MESSAGE, ATT_DATE_SENT, dtr(meeting.sent)),
    ]
    if meeting.with_appointment_props:
        records += [
            record(LEVEL_MESSAGE, ATT_DATE_START, dtr(meeting.start)),
            record(LEVEL_MESSAGE, ATT_DATE_END, dtr(meeting.end)),
        ]
    records.append(record(LEVEL_MESSAGE, ATT_PRIORITY, struct.pack("<H", 2)))
    if meeting.recipients:
        records.append(record(LEVEL_MESSAGE, ATT_RECIP_TABLE, recipient_table(meeting.recipients)))
    records.append(record(LEVEL_MESSAGE, ATT_MSG_PROPS, properties(_message_props(meeting))))
    for name, data in meeting.attachments:
        records += _attachment(name, data)
    return stream(records)


def _message_props(meeting: Meeting) -> list[Prop]:
    props = [
        Prop(PT_UNICODE, 0x001A, meeting.message_class),  # PidTagMessageClass
        Prop(PT_UNICODE, 0x0037, meeting.subject),  # PidTagSubject
        Prop(PT_SYSTIME, 0x0039, meeting.sent),  # PidTagClientSubmitTime
        Prop(PT_UNICODE, 0x0042, meeting.organizer_name),  # PidTagSentRepresentingName
        Prop(PT_UNICODE, 0x0064, "SMTP"),  # PidTagSentRepresentingAddressType
        Prop(PT_UNICODE, 0x0065, meeting.organizer),  # PidTagSentRepresentingEmailAddress
        Prop(PT_UNICODE, 0x0C1A, meeting.organizer_name),  # PidTagSenderName
        Prop(PT_UNICODE, 0x0C1E, "SMTP"),  # PidTagSenderAddressType
        Prop(PT_UNICODE, 0x0C1F, meeting.organizer),  # PidTagSenderEmailAddress
        Prop(PT_LONG, 0x3FDE, 65001),  # PidTagInternetCodepage
        Prop(PT_UNICODE, 0x1000, meeting.body),  # PidTagBody
    ]
    if not meeting.with_appointment_props:
        return props
    props += [
        Prop(PT_SYSTIME, 0x0060, meeting.start),  # PidTagStartDate
        Prop(PT_SYSTIME, 0x0061, meeting.end),  # PidTagEndDate
        Prop(PT_SYSTIME, 0x820D, meeting.start, PSETID_APPOINTMENT),  # …AppointmentStartWhole
        Prop(PT_SYSTIME, 0x820E, meeting.end, PSETID_APPOINTMENT),  # …AppointmentEndWhole
        Prop(PT_UNICODE, 0x8208, meeting.location, PSETID_APPOINTMENT),  # PidLidLocation
        Prop(PT_LONG, 0x8205, 1, PSETID_APPOINTMENT),  # PidLidBusyStatus: tentative
        Prop(PT_BOOLEAN, 0x8215, False, PSETID_APPOINTMENT),  # PidLidAppointmentSubType
        Prop(PT_UNICODE, 0x0002, meeting.location, PSETID_MEETING),  # PidLidWhere
        Prop(PT_SYSTIME, 0x001A, meeting.sent, PSETID_MEETING),  # PidLidOwnerCriticalChange
    ]
    if meeting.sequence is not None:
        props.append(Prop(PT_LONG, 0x8201, meeting.sequence, PSETID_APPOINTMENT))
    if meeting.global_object_id is not None:
        props += [
            Prop(
                PT_BINARY, 0x0003, meeting.global_object_id, PSETID_MEETING
            ),  # PidLidGlobalObjectId
            Prop(PT_BINARY, 0x0023, meeting.global_object_id, PSETID_MEETING),  # …Clean…
        ]
    return props


def _attachment(name: str, data: bytes) -> list[bytes]:
    renddata = struct.pack("<HIHHI", 0x0001, 0xFFFFFFFF, 0xFFFF, 0xFFFF, 0)  # a file, no icon
    props = properties(
        [
            Prop(PT_LONG, 0x3705, 1),  # PidTagAttachMethod: by value
            Prop(PT_UNICODE, 0x3707, name),  # PidTagAttachLongFilename
            Prop(PT_UNICODE, 0x370E, "application/octet-stream"),  # PidTagAttachMimeTag
        ]
    )
    return [
        record(LEVEL_ATTACHMENT, ATT_ATTACH_RENDDATA, renddata),
        record(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, string8(name)),
        record(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data),
        record(LEVEL_ATTACHMENT, ATT_ATTACHMENT, props),
    ]
