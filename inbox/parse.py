"""Raw bytes → :class:`ParsedMessage` (pure). flanker is used here and nowhere else.

Whatever the bytes, :func:`parse_message` either returns a message or raises
:class:`~core.errors.ParseError`; nothing else escapes.

Where calendars hide (forwards, winmail.dat, S/MIME) is :mod:`inbox.parts`' business. Whether
they came from a forwarded message — enclosed, or inline under a forward header block
(:mod:`inbox.forward`) — and from whom is in ``forwarded`` and ``original_from``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from core.errors import ParseError
from inbox.forward import find_forward_header, html_to_text
from inbox.parts import Attachment, Found, walk_parts

# flanker logs what it cannot parse *with the offending text* (header values, addresses — our
# agents' tokens among them — and base64 of whole headers), and its PLY parsers log "Symbol …
# is unreachable" at import. Logs must never hold message content or tokens (PRODUCT.md), and
# what flanker cannot read reaches callers as ParseError anyway: keep its records to itself.
_flanker_log = logging.getLogger("flanker")
_flanker_log.addHandler(logging.NullHandler())
_flanker_log.propagate = False

from flanker.addresslib import address as flanker_address  # noqa: E402
from flanker.mime import create as flanker_create  # noqa: E402

_MESSAGE_ID_RE = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    message_id: str | None
    subject: str
    from_address: str | None
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    content_type: str
    headers: dict[str, str]  # lower-cased names of the headers rules look at
    text: str
    html: str
    calendars: tuple[bytes, ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # True when a calendar came from a forwarded message: one enclosed (message/rfc822) or one
    # forwarded inline (a Gmail/Outlook/Thunderbird/Apple forward header block in the body).
    # The forwarder is from_address; original_from is the forwarded message's sender, if known.
    forwarded: bool = False
    original_from: str | None = None

    @property
    def has_content(self) -> bool:
        return bool(self.text.strip() or self.html.strip() or self.calendars or self.attachments)

    @property
    def from_domain(self) -> str | None:
        if not self.from_address or "@" not in self.from_address:
            return None
        return self.from_address.rsplit("@", 1)[1].lower()


RULE_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "x-kollegan-kind",
    "x-loop",
    "x-failed-recipients",
)


def parse_message(raw: bytes) -> ParsedMessage:
    if not isinstance(raw, bytes | bytearray):
        raise ParseError("a message must be bytes")
    if not raw.strip():
        raise ParseError("empty message")
    try:
        return _parse(bytes(raw))
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("message nested too deeply") from None
    except Exception as exc:  # flanker raises many kinds; callers get one
        raise ParseError(f"unreadable MIME: {type(exc).__name__}") from exc


def _parse(raw: bytes) -> ParsedMessage:
    root = flanker_create.from_string(raw)
    from_address, from_name = _first_address(root.headers.get("From"))
    found = walk_parts(root, from_address, _read_mime, _sender_of)
    forwarded, original_from = _forward_origin(found)
    return ParsedMessage(
        message_id=_message_id(root.headers.get("Message-Id")),
        subject=_header_text(root.headers.get("Subject")),
        from_address=from_address,
        from_name=from_name,
        to=_addresses(root.headers.get("To")),
        cc=_addresses(root.headers.get("Cc")),
        date=_date(root.headers.get("Date")),
        in_reply_to=_message_id(root.headers.get("In-Reply-To")),
        references=tuple(_MESSAGE_ID_RE.findall(_header_text(root.headers.get("References")))),
        content_type=f"{root.content_type.main}/{root.content_type.sub}".lower(),
        headers={
            name: _header_text(root.headers.get(name))
            for name in RULE_HEADERS
            if root.headers.get(name) is not None
        },
        text=found.text,
        html=found.html,
        calendars=tuple(calendar for calendar, _ in found.calendars),
        attachments=tuple(found.attachments),
        forwarded=forwarded,
        original_from=original_from,
    )


def _read_mime(data: bytes) -> Any:
    """Bytes inside a part (a signed or attached message) as MIME; None when they are not.

    flanker reads headers and bodies when first asked; here all of them are read at once, so
    that a broken message inside an attachment leaves the attachment a file instead of making
    the whole message unreadable halfway through the walk."""
    if not data.strip():
        return None
    try:
        tree = flanker_create.from_string(data)
        for part in tree.walk(with_self=True):
            _ = (part.headers, part.content_disposition, part.detected_file_name, part.body)
    except Exception:  # flanker raises many kinds; an unreadable inner message stays a file
        return None
    return tree


def _sender_of(message: Any) -> str | None:
    return _first_address(message.headers.get("From"))[0]


def _forward_origin(found: Found) -> tuple[bool, str | None]:
    """Whether the calendars came from a forwarded message, and that message's sender.

    An enclosed message names its sender exactly. Inline, the first forward header block of
    the root message counts: the one the forwarder wrote, above any older quoted history."""
    inline_checked, inline_sender = False, None
    forwarded = False
    for _, scope in found.calendars:
        if scope.enclosed:
            return True, scope.sender
        if not inline_checked:
            inline_checked = True
            header = find_forward_header(scope.text or html_to_text(scope.html))
            if header is not None:
                forwarded = True
                inline_sender = _first_address(header.sender)[0] if header.sender else None
    return forwarded, inline_sender


def _header_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):  # flanker's (value, params) for structured headers
        value = value[0]
    return " ".join(str(value).split())


def message_id_of(value: str | None) -> str | None:
    """``<abc@x>`` or ``abc@x`` → ``abc@x``; None when there is none."""
    if not value:
        return None
    found = _MESSAGE_ID_RE.search(value)
    candidate = found.group(1) if found else value.strip().strip("<>").strip()
    if not candidate or len(candidate) > 900 or any(_is_bad_id_char(c) for c in candidate):
        return None  # "!<C" is no Message-ID, and would break the In-Reply-To we write back
    return candidate


def _is_bad_id_char(char: str) -> bool:
    """Space, controls (NUL breaks PostgreSQL text) and angle brackets end a Message-ID."""
    return char.isspace() or char in "<>" or ord(char) < 0x20 or ord(char) == 0x7F


def _message_id(value: Any) -> str | None:
    if value is None:
        return None
    return message_id_of(str(value))


def _first_address(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    parsed = flanker_address.parse(_header_text(value))
    if parsed is None or not getattr(parsed, "address", None):
        return None, None
    name = getattr(parsed, "display_name", "") or None
    return str(parsed.address).lower(), name


def _addresses(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    parsed = flanker_address.parse_list(_header_text(value))
    return tuple(str(a.address).lower() for a in parsed if getattr(a, "address", None))


def _date(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(_header_text(value))
        if parsed.tzinfo is None:
            return None
        parsed.astimezone(UTC)  # "31 Dec 9999 23:59 -2359" cannot be stored as UTC
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed


def peek_message_id(raw: bytes) -> str | None:
    """The Message-ID from the header block alone — cheap enough for the SMTP hot path."""
    blank = _BLANK_LINE_RE.search(raw)  # the first one, whatever the line endings
    head = raw if blank is None else raw[: blank.start()]
    for match in _MESSAGE_ID_HEADER_RE.finditer(head):
        value = match.group(1).decode("ascii", "replace")
        return message_id_of(" ".join(value.split()))
    return None


_BLANK_LINE_RE = re.compile(rb"\n\r?\n")
_MESSAGE_ID_HEADER_RE = re.compile(rb"(?im)^message-id[ \t]*:((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)")
