"""The header block a mail client writes above a message it forwards inline (pure).

Gmail writes ``---------- Forwarded message ---------`` (Swedish: ``Vidarebefordrat
meddelande``) and Thunderbird ``-------- Forwarded Message --------``, each followed by the
forwarded message's From/Date/Subject/To lines (Swedish Gmail translates only ``Från:``); Apple
Mail writes ``Begin forwarded message:``; Outlook writes no marker, only the block itself —
``From: … Sent: … To: … Subject: …`` or ``Från: … Skickat: … Till: … Ämne: …``, often under a
line of underscores. Such a block is what tells a forward from an invitation sent directly.
"""

from __future__ import annotations

import html as html_entities
import re
from dataclasses import dataclass

MAX_SCANNED_CHARS = 200_000  # a forward's header block sits near the top; long bodies are cut
_MARKER_WINDOW = 8  # lines after a marker in which the forwarded From line is looked for
_BLOCK_WINDOW = 6  # lines after a From line in which Sent/Date and Subject must follow

_MARKER_RE = re.compile(
    r"^-{2,}\s*(?:forwarded message|vidarebefordrat (?:e-post)?meddelande)\s*-{2,}$"
    r"|^(?:begin forwarded message|(?:början på )?vidarebefordrat brev)\s*:$",
    re.IGNORECASE,
)
_FROM_RE = re.compile(r"^\**(?:from|från)\**\s*:\s*(.*)$", re.IGNORECASE)
_SENT_RE = re.compile(r"^\**(?:sent|skickat|date|datum)\**\s*:", re.IGNORECASE)
_SUBJECT_RE = re.compile(r"^\**(?:subject|ämne)\**\s*:", re.IGNORECASE)
# No pattern here may scan past the next "<" or "[": hostile bodies must stay linear.
_MAILTO_RE = re.compile(r"\[\s*mailto:([^\[\]\s]+)\s*\]", re.IGNORECASE)
_BREAK_RE = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/blockquote)\b[^<>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^<>]*>")


@dataclass(frozen=True, slots=True)
class ForwardHeader:
    """A forward's header block; ``sender`` is its From value as written ("" when it has none)."""

    sender: str


def find_forward_header(text: str) -> ForwardHeader | None:
    """The first forward header block in a plain-text body, or None when there is none."""
    lines = [line.strip() for line in text[:MAX_SCANNED_CHARS].splitlines()]
    for index, line in enumerate(lines):
        if _MARKER_RE.match(line):
            return ForwardHeader(_sender_after(lines[index + 1 : index + 1 + _MARKER_WINDOW]))
        found = _FROM_RE.match(line)
        if found and _is_header_block(lines[index + 1 : index + 1 + _BLOCK_WINDOW]):
            return ForwardHeader(_clean_sender(found.group(1)))
    return None


def html_to_text(html: str) -> str:
    """Just enough of an HTML body as text to find a header block in it (not for display)."""
    text = _TAG_RE.sub("", _BREAK_RE.sub("\n", html[:MAX_SCANNED_CHARS]))
    return html_entities.unescape(text)


def _sender_after(lines: list[str]) -> str:
    for line in lines:
        found = _FROM_RE.match(line)
        if found:
            return _clean_sender(found.group(1))
    return ""


def _is_header_block(lines: list[str]) -> bool:
    """Outlook's block (or Thunderbird's without its marker): a date line and a subject line."""
    return any(_SENT_RE.match(line) for line in lines) and any(
        _SUBJECT_RE.match(line) for line in lines
    )


def _clean_sender(value: str) -> str:
    """``*Anna* <a@b>`` (Gmail's bold) and ``Anna [mailto:a@b]`` (Outlook's) → ``Anna <a@b>``."""
    value = _MAILTO_RE.sub(r"<\1>", value)
    return " ".join(value.replace("*", " ").split())
