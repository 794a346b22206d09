"""The MIME entity inside an opaque-signed S/MIME message (pure).

``application/pkcs7-mime; smime-type=signed-data`` (``smime.p7m``) is a CMS ContentInfo whose
SignedData carries the signed MIME entity itself (RFC 5652 §5, RFC 8551 §3.5.2). This unwraps
it; the signature is *not* checked here (that is the hardening issue's). ``cryptography`` has
no API for a SignedData's content, so a small reader takes what is needed from DER or BER
(indefinite lengths, OCTET STRINGs sent in chunks), with bounds on depth and element count.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2
MAX_DEPTH = 24  # nesting of BER elements; SignedData's content sits at depth 5
MAX_ELEMENTS = 100_000  # elements looked at per object (chunked content, certificates)

_SEQUENCE, _SET, _OID, _INTEGER, _OCTETS, _CHUNKED_OCTETS = 0x30, 0x31, 0x06, 0x02, 0x04, 0x24
_EXPLICIT_0 = 0xA0


class _Unreadable(Exception):
    """Not a SignedData this reader takes content from."""


@dataclass(frozen=True, slots=True)
class _Element:
    tag: int  # the identifier octet (its first one, for high tag numbers)
    start: int  # first content octet
    end: int  # one past the last content octet
    after: int  # where the next element starts (after an end-of-contents marker, for BER)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.known: dict[int, _Element] = {}  # BER extents are found once, not once per level

    def element(self, offset: int, limit: int, depth: int) -> _Element:
        known = self.known.get(offset)
        if known is None:
            if depth > MAX_DEPTH or len(self.known) >= MAX_ELEMENTS:
                raise _Unreadable("nested too deeply or too many elements")
            known = self.known[offset] = self._read(offset, limit, depth)
        if known.after > limit:
            raise _Unreadable("element runs past its parent")
        return known

    def _read(self, offset: int, limit: int, depth: int) -> _Element:
        tag, offset = self._tag(offset, limit)
        first = self.data[offset]
        offset += 1
        if first == 0x80:  # indefinite length: children up to an end-of-contents marker
            if not tag & 0x20:
                raise _Unreadable("indefinite length on a primitive element")
            return self._indefinite(tag, offset, limit, depth)
        length = first
        if first > 0x80:
            count = first & 0x7F
            if count > 4 or offset + count > limit:
                raise _Unreadable("bad length")
            length = int.from_bytes(self.data[offset : offset + count], "big")
            offset += count
        if offset + length > limit:
            raise _Unreadable("element runs past its parent")
        return _Element(tag, offset, offset + length, offset + length)

    def _tag(self, offset: int, limit: int) -> tuple[int, int]:
        """The identifier octet and where the length octets start."""
        if offset + 2 > limit:
            raise _Unreadable("truncated")
        tag = self.data[offset]
        offset += 1
        if tag & 0x1F == 0x1F:  # a high tag number: its octets end with one below 0x80
            while offset < limit and self.data[offset] & 0x80:
                offset += 1
            offset += 1
        if offset >= limit:
            raise _Unreadable("truncated")
        return tag, offset

    def _indefinite(self, tag: int, start: int, limit: int, depth: int) -> _Element:
        position = start
        while True:
            if position + 2 > limit:
                raise _Unreadable("no end-of-contents")
            if self.data[position] == 0 and self.data[position + 1] == 0:
                return _Element(tag, start, position, position + 2)
            position = self.element(position, limit, depth + 1).after

    def children(self, parent: _Element, depth: int) -> Iterator[_Element]:
        position = parent.start
        while position < parent.end:
            child = self.element(position, parent.end, depth + 1)
            yield child
            position = child.after

    def first_children(self, parent: _Element, depth: int, tags: tuple[int, ...]) -> list[_Element]:
        """The first ``len(tags)`` children, which must carry those tags."""
        found: list[_Element] = []
        for child in islice(self.children(parent, depth), len(tags)):
            if child.tag != tags[len(found)]:
                raise _Unreadable(f"unexpected tag {child.tag:#04x}")
            found.append(child)
        if len(found) < len(tags):
            raise _Unreadable("too few elements")
        return found

    def octets(self, element: _Element, depth: int) -> bytes:
        if element.tag == _OCTETS:
            return self.data[element.start : element.end]
        if element.tag == _CHUNKED_OCTETS:
            return b"".join(
                self.octets(chunk, depth + 1) for chunk in self.children(element, depth)
            )
        raise _Unreadable("content is no OCTET STRING")


def signed_content(data: bytes) -> bytes | None:
    """The content a SignedData encapsulates, or None (not SignedData, detached, unreadable)."""
    if data[:1] != bytes([_SEQUENCE]):
        data = _from_base64(data)  # some clients send the .p7m file itself base64 text
    try:
        return _signed_content(_Reader(data))
    except (_Unreadable, IndexError, RecursionError):
        return None


def _signed_content(reader: _Reader) -> bytes | None:
    content_info = reader.element(0, len(reader.data), 0)
    if content_info.tag != _SEQUENCE:
        raise _Unreadable("no ContentInfo")
    oid, explicit = reader.first_children(content_info, 0, (_OID, _EXPLICIT_0))
    if reader.data[oid.start : oid.end] != SIGNED_DATA_OID:
        return None  # enveloped (encrypted), compressed, …: nothing we can read
    (signed_data,) = reader.first_children(explicit, 1, (_SEQUENCE,))
    _version, _digests, encapsulated = reader.first_children(
        signed_data, 2, (_INTEGER, _SET, _SEQUENCE)
    )
    parts = list(reader.children(encapsulated, 3))
    if len(parts) < 2 or parts[0].tag != _OID or parts[1].tag != _EXPLICIT_0:
        return None  # detached: the content travels beside the signature, not in it
    content = next(reader.children(parts[1], 4), None)
    return None if content is None else reader.octets(content, 5)


def _from_base64(data: bytes) -> bytes:
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return b""
