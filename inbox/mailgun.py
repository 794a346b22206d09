"""Mailgun inbound webhook, the pure part: signature, freshness, and what the POST carries.

Mailgun signs ``timestamp + token`` (no separator) with HMAC-SHA256 under the webhook signing
key and sends the lower-case hex digest. Only the raw-MIME format (route URL ending in ``mime``)
is accepted: it carries the message exactly as received.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from core.errors import SignatureError


class Refusal(StrEnum):
    """Why a webhook POST is refused; the web layer maps each to one HTTP status."""

    NOT_CONFIGURED = "the Mailgun webhook is not configured (KOLLEGAN_MAILGUN_SIGNING_KEY)"
    UNSIGNED = "missing timestamp, token or signature"
    BAD_SIGNATURE = "signature does not verify"
    STALE = "timestamp outside the freshness window"
    REPLAY = "token already used"
    NOT_MIME = "no body-mime field: point the Mailgun route at a URL ending in 'mime'"
    TOO_LARGE = "message larger than the size limit"
    UNKNOWN_RECIPIENT = "no such recipient here"
    UNREADABLE = "the form body could not be read"


TEXT_FIELDS = ("recipient", "sender", "timestamp", "token", "signature")
MAX_PATH = 320  # longer than any address can be (RFC 5321 §4.5.3.1: 256 for a path)


@dataclass(frozen=True, slots=True)
class SignedFields:
    timestamp: str
    token: str
    signature: str


def signature_for(key: str, timestamp: str, token: str) -> str:
    return hmac.new(
        key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def is_valid_signature(key: str, fields: SignedFields) -> bool:
    expected = signature_for(key, fields.timestamp, fields.token)
    given = fields.signature.encode("utf-8", "surrogatepass")  # odd text refuses, not crashes
    return hmac.compare_digest(expected.encode("ascii"), given)


def signed_fields(form: Mapping[str, object]) -> SignedFields:
    values = {name: form.get(name) for name in ("timestamp", "token", "signature")}
    if not all(isinstance(v, str) and v for v in values.values()):
        raise SignatureError(Refusal.UNSIGNED)
    timestamp, token, signature = (str(values[n]) for n in ("timestamp", "token", "signature"))
    if len(token) > 128 or len(signature) > 128 or len(timestamp) > 20:
        raise SignatureError(Refusal.UNSIGNED)
    return SignedFields(timestamp, token, signature)


def verify(
    key: str, form: Mapping[str, object], *, now: datetime, max_age: timedelta
) -> SignedFields:
    """The signed fields when the POST is Mailgun's and fresh; :class:`SignatureError` if not."""
    fields = signed_fields(form)
    if not is_valid_signature(key, fields):
        raise SignatureError(Refusal.BAD_SIGNATURE)
    try:
        signed_at = datetime.fromtimestamp(int(fields.timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError(Refusal.STALE) from None
    if abs(now - signed_at) > max_age:
        raise SignatureError(Refusal.STALE)
    return fields


def recipients_of(form: Mapping[str, object]) -> list[str]:
    value = form.get("recipient")
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()][:100]


def sender_of(form: Mapping[str, object]) -> str:
    """The envelope sender; "" (as for a bounce) when it cannot be an address at all."""
    value = form.get("sender")
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > MAX_PATH or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return ""
    return value
