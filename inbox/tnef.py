"""Outlook's ``winmail.dat`` (TNEF, MS-OXTNEF) → its attributes and MAPI properties (pure).

tnefparse decodes the MAPI property lists. The record walk around them is ours, and every list
is bounds-checked before tnefparse sees it: its own reader copies the rest of the stream for
every record and believes every count it reads (a winmail.dat of a few bytes claiming four
billion properties keeps it busy for hours). :func:`read_tnef` returns a :class:`Tnef` or
raises :class:`TnefError`.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

# tnefparse logs what it fails to decode; hostile attachments must not fill our logs, and what
# it cannot read is simply not there for us.
_tnef_log = logging.getLogger("tnefparse")
_tnef_log.addHandler(logging.NullHandler())
_tnef_log.propagate = False

from tnefparse.mapi import decode_mapi  # noqa: E402

TNEF_SIGNATURE = 0x223E9F78
MAX_RECORDS = 4096  # Outlook writes ~20 per message and ~6 per attachment
MAX_VALUES = 50_000  # MAPI values decoded per TNEF (Outlook writes a few hundred)

# attribute ids (MS-OXTNEF 2.1.3.2: the low 16 bits of attrID)
LEVEL_MESSAGE, LEVEL_ATTACHMENT = 0x01, 0x02
ATT_FROM, ATT_SUBJECT, ATT_MESSAGE_CLASS, ATT_BODY = 0x8000, 0x8004, 0x8008, 0x800C
ATT_DATE_START, ATT_DATE_END, ATT_DATE_SENT = 0x0006, 0x0007, 0x8005
ATT_OEM_CODEPAGE, ATT_MSG_PROPS, ATT_RECIP_TABLE = 0x9007, 0x9003, 0x9004
ATT_ATTACH_RENDDATA, ATT_ATTACH_TITLE, ATT_ATTACH_DATA = 0x9002, 0x8010, 0x800F
ATT_ATTACHMENT = 0x9005

PT_INTEGER32, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x0003, 0x001E, 0x001F, 0x0040, 0x0102
_MULTI_VALUED = 0x1000
# MAPI value sizes as tnefparse reads them (PT_SHORT and PT_BOOLEAN: 2, a list padded to 4)
_FIXED_SIZES = {0x0002: 2, 0x000B: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x0005: 8, 0x0006: 8}
_FIXED_SIZES |= {0x0007: 8, 0x0014: 8, 0x0040: 8, 0x0048: 16}
_VARIABLE_TYPES = frozenset({0x0000, 0x000D, PT_STRING8, PT_UNICODE, PT_BINARY})
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


class TnefError(Exception):
    """Not TNEF, or TNEF whose structure does not hold together."""


class Properties:
    """MAPI properties as tnefparse decoded them, looked up by tag (or named: LID and set)."""

    def __init__(self, decoded: list[Any] | None = None) -> None:
        self._decoded = decoded or []

    def find(self, tag: int, guid: UUID | None = None) -> Any:
        for prop in self._decoded:
            if guid is None and not prop.guid and prop.name == tag:
                return prop
            if guid is not None and prop.guid == guid and prop.guid_prop == tag:
                return prop
        return None

    def text(self, tag: int, guid: UUID | None = None) -> str:
        prop = self.find(tag, guid)
        if prop is None or prop.attr_type not in (PT_STRING8, PT_UNICODE):
            return ""
        return str(prop.data).strip()

    def time(self, tag: int, guid: UUID | None = None) -> datetime | None:
        prop = self.find(tag, guid)
        if prop is None or prop.attr_type != PT_SYSTIME or len(prop.raw_data) < 8:
            return None
        ticks = struct.unpack_from("<Q", prop.raw_data)[0]  # FILETIME: 100 ns since 1601, UTC
        try:
            return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
        except OverflowError:
            return None

    def integer(self, tag: int, guid: UUID | None = None) -> int | None:
        prop = self.find(tag, guid)
        if prop is None or prop.attr_type != PT_INTEGER32 or len(prop.raw_data) < 4:
            return None
        value: int = struct.unpack_from("<i", prop.raw_data)[0]
        return value

    def binary(self, tag: int, guid: UUID | None = None) -> bytes:
        """The value padded to 4 bytes, as TNEF stores it (ids say their own size)."""
        prop = self.find(tag, guid)
        if prop is None or prop.attr_type != PT_BINARY or not prop.raw_data:
            return b""
        return bytes(prop.raw_data[0])


@dataclass(slots=True)
class TnefAttachment:
    title: str = ""
    data: bytes = b""
    props: Properties = field(default_factory=Properties)


@dataclass(slots=True)
class Tnef:
    codepage: str = "cp1252"
    message_class: str = ""
    subject: str = ""
    body: str = ""
    sender: tuple[str, str] | None = None  # attFrom: display name, SMTP address
    dates: dict[int, datetime] = field(default_factory=dict)  # attDateStart, …End, …Sent
    props: Properties = field(default_factory=Properties)  # the message's MAPI properties
    recipients: list[Properties] = field(default_factory=list)
    attachments: list[TnefAttachment] = field(default_factory=list)
    values_left: int = MAX_VALUES


def read_tnef(data: bytes) -> Tnef:
    if len(data) < 6 or struct.unpack_from("<I", data)[0] != TNEF_SIGNATURE:
        raise TnefError("no TNEF signature")
    tnef = Tnef()
    offset, records = 6, 0
    try:
        while offset + 11 <= len(data):  # level, id, type, length, checksum
            records += 1
            if records > MAX_RECORDS:
                raise TnefError("too many records")
            level, name, _kind, length = struct.unpack_from("<BHHI", data, offset)
            start = offset + 9
            if start + length + 2 > len(data):
                raise TnefError("record runs past the end")
            value = data[start : start + length]
            offset = start + length + 2  # the checksum is not checked: Outlook's are right
            if level == LEVEL_ATTACHMENT:
                _attachment_record(tnef, name, value)
            elif level == LEVEL_MESSAGE:
                _message_record(tnef, name, value)
    except (struct.error, ValueError, LookupError) as exc:  # decoding errors of tnefparse too
        raise TnefError(f"unreadable TNEF: {type(exc).__name__}") from exc
    return tnef


def _message_record(tnef: Tnef, name: int, value: bytes) -> None:
    if name == ATT_OEM_CODEPAGE and len(value) >= 4:
        tnef.codepage = _codec(_u32(value, 0))
    elif name == ATT_MESSAGE_CLASS:
        tnef.message_class = _string8(value, tnef.codepage)
    elif name == ATT_SUBJECT:
        tnef.subject = _string8(value, tnef.codepage)
    elif name == ATT_BODY:
        tnef.body = _string8(value, tnef.codepage)
    elif name == ATT_FROM:
        tnef.sender = _triple(value, tnef.codepage)
    elif name in (ATT_DATE_START, ATT_DATE_END, ATT_DATE_SENT) and len(value) >= 12:
        year, month, day, hour, minute, second = struct.unpack_from("<6H", value)
        with contextlib.suppress(ValueError):  # a DTR that is no date is left out
            tnef.dates[name] = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    elif name == ATT_MSG_PROPS:
        tnef.props = _properties(tnef, value)
    elif name == ATT_RECIP_TABLE:
        tnef.recipients = _recipients(tnef, value)


def _attachment_record(tnef: Tnef, name: int, value: bytes) -> None:
    if name == ATT_ATTACH_RENDDATA or not tnef.attachments:
        tnef.attachments.append(TnefAttachment())  # attAttachRendData opens an attachment
    attachment = tnef.attachments[-1]
    if name == ATT_ATTACH_TITLE:
        attachment.title = _string8(value, tnef.codepage)
    elif name == ATT_ATTACH_DATA:
        attachment.data = value
    elif name == ATT_ATTACHMENT:
        attachment.props = _properties(tnef, value)


def _properties(tnef: Tnef, block: bytes) -> Properties:
    _check_properties(tnef, block, 0)
    return Properties(list(decode_mapi(block, tnef.codepage)))


def _recipients(tnef: Tnef, block: bytes) -> list[Properties]:
    rows = _u32(block, 0)
    if rows > (len(block) - 4) // 4:
        raise TnefError("more recipients than bytes")
    offset, found = 4, []
    for _ in range(rows):
        end = _check_properties(tnef, block, offset)
        _, row = decode_mapi(block, tnef.codepage, starting_offset=offset)
        found.append(Properties(list(row)))
        offset = end
    return found


def _check_properties(tnef: Tnef, block: bytes, offset: int) -> int:
    """Walk one MAPI property list the way tnefparse will; raise unless every count fits."""
    count = _u32(block, offset)
    offset += 4
    if count > (len(block) - offset) // 8:  # no property takes fewer than 8 bytes
        raise TnefError("more properties than bytes")
    for _ in range(count):
        kind, prop_id = struct.unpack_from("<HH", block, offset)
        offset += 4
        if prop_id >= 0x8000:  # named: GUID, then a number or a UTF-16 name
            offset += 16
            offset += 8 if _u32(block, offset) == 0 else 8 + _padded(_u32(block, offset + 4))
        offset, values = _check_values(block, offset, kind)
        tnef.values_left -= values
        if offset > len(block) or tnef.values_left < 0:
            raise TnefError("a property runs past its list, or too many values")
    return offset


def _check_values(block: bytes, offset: int, kind: int) -> tuple[int, int]:
    """Where one property's values end, and how many there are."""
    multi = bool(kind & _MULTI_VALUED)
    kind &= ~_MULTI_VALUED
    values = 1
    if multi:
        values = _u32(block, offset)
        offset += 4
        multi = values > 0  # tnefparse reads a count of 0 as one single value
        values = max(values, 1)
    if kind in _FIXED_SIZES:
        if values > len(block) - offset:
            raise TnefError("more values than bytes")
        offset += values * _FIXED_SIZES[kind]
        return offset + (2 if values % 2 and _FIXED_SIZES[kind] == 2 else 0), values
    if kind not in _VARIABLE_TYPES:
        raise TnefError(f"unknown MAPI type {kind:#06x}")
    if not multi:
        values = _u32(block, offset)
        offset += 4
    if values > (len(block) - offset) // 4:
        raise TnefError("more values than bytes")
    for _ in range(values):
        offset += 4 + _padded(_u32(block, offset))
    return offset, max(values, 1)


def _u32(block: bytes, offset: int) -> int:
    value: int = struct.unpack_from("<I", block, offset)[0]
    return value


def _padded(length: int) -> int:
    return length + (-length % 4)


def _codec(codepage: int) -> str:
    name = {20127: "ascii", 28591: "iso-8859-1", 65001: "utf-8"}.get(codepage, f"cp{codepage}")
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


def _string8(value: bytes, codepage: str) -> str:
    return value.split(b"\x00", 1)[0].decode(codepage, "replace").strip()


def _triple(value: bytes, codepage: str) -> tuple[str, str] | None:
    """attFrom (a TRP): display name and ``SMTP:address``."""
    if len(value) < 8:
        return None
    _, _, name_length, address_length = struct.unpack_from("<4H", value)
    name = _string8(value[8 : 8 + name_length], codepage)
    address = _string8(value[8 + name_length : 8 + name_length + address_length], codepage)
    kind, _, address = address.partition(":")
    return (name, address) if kind.upper() == "SMTP" and "@" in address else None
