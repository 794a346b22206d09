"""A form POST read as the bytes that were sent: bounded, and nothing decoded behind our back.

Starlette's own form parser decodes every field as text (``%E9`` becomes U+FFFD), which is
fine for a login form and wrong for Mailgun's ``body-mime``: a message must be stored byte for
byte. Both encodings Mailgun uses are read here: ``application/x-www-form-urlencoded`` and
``multipart/form-data`` (file parts are left out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from core.errors import ParseError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELDS = 1000  # Mailgun posts every header of the message as a field, too


class TooLargeError(ParseError):
    """The body is longer than the limit."""


async def read_body(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, counted as it arrives (a missing Content-Length is no way around it)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise TooLargeError(f"body over {limit} bytes")
    return bytes(body)


def parse_form(content_type: str, body: bytes, *, max_fields: int = MAX_FIELDS) -> dict[str, bytes]:
    """Field name → the bytes sent; a repeated name keeps its first value.

    First, because Mailgun writes its own fields (``recipient``, ``sender``) before the
    message's headers, which it posts as fields as well: a header cannot override them.
    Not a form of either kind → no fields. :class:`ParseError` when the body is malformed.
    """
    kind, params = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        pairs = _urlencoded(body, max_fields)
    elif kind == b"multipart/form-data":
        pairs = _multipart(body, params.get(b"boundary", b""), max_fields)
    else:
        return {}
    fields: dict[str, bytes] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def _urlencoded(body: bytes, max_fields: int) -> list[tuple[str, bytes]]:
    # Latin-1 maps each byte to one character and back: percent-escapes decode to the bytes sent.
    try:
        pairs = parse_qsl(
            body.decode("latin-1"),
            keep_blank_values=True,
            encoding="latin-1",
            max_num_fields=max_fields,
        )
    except ValueError as exc:
        raise ParseError(f"unreadable form: {exc}") from None
    return [(_name(name.encode("latin-1")), value.encode("latin-1")) for name, value in pairs]


def _multipart(body: bytes, boundary: bytes, max_fields: int) -> list[tuple[str, bytes]]:
    if not boundary:
        raise ParseError("multipart/form-data without a boundary")
    reader = _PartReader()
    try:
        parser = MultipartParser(boundary, reader.callbacks(), max_header_count=32)
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ParseError(f"unreadable form: {exc}") from None
    if len(reader.fields) > max_fields:
        raise ParseError(f"more than {max_fields} fields")
    return reader.fields


class _PartReader:
    """Callbacks for python-multipart: collects the non-file parts."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, bytes]] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._data = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_part_data": lambda data, start, end: self._data.extend(data[start:end]),
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._disposition = b""
        self._data = bytearray()

    def _header_end(self) -> None:
        if bytes(self._header_name).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _end(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        if b"name" in options and b"filename" not in options:
            self.fields.append((_name(options[b"name"]), bytes(self._data)))


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
