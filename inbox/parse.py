"""Raw bytes → :class:`ParsedMessage` (pure). flanker is used here and nowhere else.

Whatever the bytes, :func:`parse_message` either returns a message or raises
:class:`~core.errors.ParseError`; nothing else escapes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from core.errors import ParseError

# flanker logs what it cannot parse *with the offending text* (header values, addresses — our
# agents' tokens among them — and base64 of whole headers), and its PLY parsers log "Symbol …
# is unreachable" at import. Logs must never hold message content or tokens (PRODUCT.md), and
# what flanker cannot read reaches callers as ParseError anyway: keep its records to itself.
_flanker_log = logging.getLogger("flanker")
_flanker_log.addHandler(logging.NullHandler())
_flanker_log.propagate = False

from flanker.addresslib import address as flanker_address  # noqa: E402
from flanker.mime import create as flanker_create  # noqa: E402

MAX_PARTS = 500  # a message with more parts than this is refused, not walked
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
_MESSAGE_ID_RE = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


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
    text, html = "", ""
    calendars: list[bytes] = []
    attachments: list[Attachment] = []
    for count, part in enumerate(root.walk(with_self=True), start=1):
        if count > MAX_PARTS:
            raise ParseError(f"more than {MAX_PARTS} MIME parts")
        ctype = part.content_type
        if ctype.is_multipart() or ctype.is_message_container():
            continue
        kind = f"{ctype.main}/{ctype.sub}".lower()
        filename = part.detected_file_name or None
        if _is_calendar(kind, filename):
            calendars.append(_body_bytes(part))
        elif part.is_attachment() or (filename and kind not in ("text/plain", "text/html")):
            attachments.append(Attachment(filename, kind, len(_body_bytes(part))))
        elif kind == "text/plain" and not text:
            text = _body_text(part)
        elif kind == "text/html" and not html:
            html = _body_text(part)
    from_address, from_name = _first_address(root.headers.get("From"))
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
        text=text,
        html=html,
        calendars=tuple(calendars),
        attachments=tuple(attachments),
    )


def _is_calendar(kind: str, filename: str | None) -> bool:
    if kind in CALENDAR_TYPES:
        return True
    return bool(filename and filename.lower().endswith((".ics", ".ifb", ".vcs")))


def _body_bytes(part: Any) -> bytes:
    body = part.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    return bytes(body)


def _body_text(part: Any) -> str:
    body = part.body
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body)


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
