"""Walking a parsed MIME tree for bodies, calendars and attachments (pure).

Parts come from flanker, but this module does not import it (flanker stays in
:mod:`inbox.parse`): whatever must be parsed again — the message inside an smime.p7m, an .eml
attached as a file — goes through the ``read_mime`` the caller passes in, and the sender of an
enclosed message through ``sender_of``.

Calendars are found wherever clients hide them: text/calendar parts and .ics attachments, in
messages forwarded as attachments (message/rfc822, or an .eml sent as a file), inside Outlook's
winmail.dat (TNEF) and inside opaque-signed S/MIME (multipart/signed needs nothing). A
winmail.dat or smime.p7m that cannot be read stays an attachment; it is never a reason to
refuse the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import ParseError
from inbox.smime import signed_content
from inbox.tnef_meeting import calendar_from_tnef

MAX_PARTS = 500  # a message with more parts than this is refused, not walked
MAX_ENCLOSED_DEPTH = 5  # forwarded or signed messages inside each other; deeper ones stay files
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
SMIME_TYPES = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(slots=True)
class Scope:
    """One message: the root, or one enclosed in it (a forward as an attachment)."""

    sender: str | None
    enclosed: bool
    text: str = ""  # its first text/plain body
    html: str = ""  # its first text/html body


@dataclass(slots=True)
class Found:
    text: str = ""  # the first text/plain body anywhere
    html: str = ""
    calendars: list[tuple[bytes, Scope]] = field(default_factory=list)  # and where each was
    attachments: list[Attachment] = field(default_factory=list)
    parts: int = 0


ReadMime = Callable[[bytes], Any]  # bytes → a MIME tree, or None when they are none
SenderOf = Callable[[Any], str | None]  # a message → its From address


def walk_parts(root: Any, sender: str | None, read_mime: ReadMime, sender_of: SenderOf) -> Found:
    """Every part in document order, without recursion (nesting depth is the sender's choice)."""
    walk = _Walk(read_mime, sender_of)
    walk.pending.append((root, Scope(sender, enclosed=False), 0))
    while walk.pending:
        part, scope, depth = walk.pending.pop()
        walk.found.parts += 1
        if walk.found.parts > MAX_PARTS:
            raise ParseError(f"more than {MAX_PARTS} MIME parts")
        ctype = part.content_type
        if ctype.is_multipart():
            walk.pending.extend((child, scope, depth) for child in reversed(part.parts))
        elif ctype.is_message_container():
            walk.enclosure(part, depth)
        else:
            walk.leaf(part, scope, depth)
    return walk.found


class _Walk:
    def __init__(self, read_mime: ReadMime, sender_of: SenderOf) -> None:
        self.read_mime = read_mime
        self.sender_of = sender_of
        self.found = Found()
        self.pending: list[tuple[Any, Scope, int]] = []  # part, the message it is in, depth

    def enclosure(self, part: Any, depth: int) -> None:
        enclosed = part.enclosed
        if enclosed is not None and depth < MAX_ENCLOSED_DEPTH:
            self.pending.append((enclosed, Scope(self.sender_of(enclosed), True), depth + 1))
            return
        filename = part.detected_file_name or None
        self.found.attachments.append(Attachment(filename, "message/rfc822", _size(enclosed)))

    def leaf(self, part: Any, scope: Scope, depth: int) -> None:
        ctype = part.content_type
        kind = f"{ctype.main}/{ctype.sub}".lower()
        filename = part.detected_file_name or None
        lower_name = (filename or "").lower()
        if is_calendar(kind, filename):
            self.found.calendars.append((body_bytes(part), scope))
        elif kind in TNEF_TYPES or lower_name == "winmail.dat":
            data = body_bytes(part)
            calendar = calendar_from_tnef(data, fallback_organizer=scope.sender)
            if calendar is not None:
                self.found.calendars.append((calendar, scope))
            self.found.attachments.append(Attachment(filename, kind, len(data)))  # files too
        elif depth < MAX_ENCLOSED_DEPTH and self.unwrapped(part, kind, lower_name, scope, depth):
            return
        elif part.is_attachment() or (filename and kind not in ("text/plain", "text/html")):
            self.found.attachments.append(Attachment(filename, kind, len(body_bytes(part))))
        elif kind == "text/plain":
            self.found.text = self.found.text or body_text(part)
            scope.text = scope.text or body_text(part)
        elif kind == "text/html":
            self.found.html = self.found.html or body_text(part)
            scope.html = scope.html or body_text(part)

    def unwrapped(self, part: Any, kind: str, lower_name: str, scope: Scope, depth: int) -> bool:
        """A message inside a part (smime.p7m, an .eml sent as a file), queued to be walked."""
        if kind in SMIME_TYPES or lower_name.endswith(".p7m"):
            content = signed_content(body_bytes(part))
            inner = self.read_mime(content) if content else None
            if inner is not None:  # the signed message itself: the same message, a level down
                self.pending.append((inner, scope, depth + 1))
                return True
        elif lower_name.endswith(".eml"):  # a forward attached as a file, not message/rfc822
            enclosed = self.read_mime(body_bytes(part))
            if enclosed is not None and enclosed.headers.get("From") is not None:
                self.pending.append((enclosed, Scope(self.sender_of(enclosed), True), depth + 1))
                return True
        return False


def _size(message: Any) -> int:
    if message is None:
        return 0
    try:
        return len(str(message.to_string()))
    except Exception:  # flanker's serialisers raise many kinds; the size is only a hint
        return 0


def is_calendar(kind: str, filename: str | None) -> bool:
    if kind in CALENDAR_TYPES:
        return True
    return bool(filename and filename.lower().endswith((".ics", ".ifb", ".vcs")))


def body_bytes(part: Any) -> bytes:
    body = part.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    return bytes(body)


def body_text(part: Any) -> str:
    body = part.body
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body)
