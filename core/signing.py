"""Signed tokens: for links the agent mails, and for the reply addresses on its mail.

itsdangerous does the signing, with one salt per :class:`Purpose`, so a token made for one use
never verifies for another. Each token carries its expiry, checked against the caller's
``now`` (a clock passed in, never the wall clock read here).

Two shapes:

- **link tokens** (:meth:`TokenSigner.sign`): a small JSON value, URL-safe base64, for paths
  such as ``/a/<token>``;
- **address tokens** (:meth:`TokenSigner.sign_reference`): one row id and the expiry in
  base 36, then 80 bits of HMAC-SHA-256 in base 32, e.g. ``1f-t3kq9c-mzxw6ytboi4dgnlk`` —
  lower-case only and short, because mail systems may change the case of a local part and
  RFC 5321 allows it 64 octets. The key is itsdangerous' derived key for the purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, Signer, URLSafeSerializer

from core.errors import SignatureError, TokenExpiredError

ADDRESS_SIGNATURE_LENGTH = 16  # base-32 characters: 80 bits
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class Purpose(StrEnum):
    """What a token is for; also its salt (stable: changing one invalidates its tokens)."""

    APPROVAL_LINK = "approval-link"
    APPROVAL_REPLY = "approval-reply"
    MEETING_PAGE = "meeting-page"


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is required for signing")
        self._secret = secret_key

    # -- link tokens --------------------------------------------------------------------------

    def sign(self, purpose: Purpose, value: Mapping[str, Any], *, expires_at: datetime) -> str:
        """A URL-safe token for ``value`` (JSON-able), valid until ``expires_at``."""
        payload = {"v": dict(value), "x": _seconds(expires_at)}
        return str(self._serializer(purpose).dumps(payload))

    def verify(self, purpose: Purpose, token: str, *, now: datetime) -> dict[str, Any]:
        """The signed value; :class:`SignatureError` (or :class:`TokenExpiredError`)."""
        try:
            payload = self._serializer(purpose).loads(token)
        except BadSignature:
            raise SignatureError("the link's signature does not verify") from None
        if not (isinstance(payload, dict) and isinstance(payload.get("v"), dict)):
            raise SignatureError("the link holds no value")  # signed by us, so never: be sure
        expires = payload.get("x")
        if not isinstance(expires, int) or expires <= _seconds(now):
            raise TokenExpiredError("the link has expired", _moment(expires))
        return dict(payload["v"])

    def _serializer(self, purpose: Purpose) -> URLSafeSerializer:
        return URLSafeSerializer(self._secret, salt=purpose.value)

    # -- address tokens -----------------------------------------------------------------------

    def sign_reference(self, purpose: Purpose, ref: int, *, expires_at: datetime) -> str:
        """A short, lower-case token naming row ``ref`` until ``expires_at``."""
        if ref < 0:
            raise ValueError("a reference is a row id, never negative")
        body = f"{_base36(ref)}-{_base36(_seconds(expires_at))}"
        return f"{body}-{self._address_signature(purpose, body)}"

    def verify_reference(self, purpose: Purpose, token: str, *, now: datetime) -> int:
        """The row id an address token names; :class:`SignatureError` or
        :class:`TokenExpiredError` (checked only once the signature holds)."""
        parts = token.strip().lower().split("-")
        if len(parts) != 3 or not all(parts):
            raise SignatureError("not a reply token")
        ref, expires, signature = parts
        number, expiry = _number(ref), _number(expires)
        expected = self._address_signature(purpose, f"{ref}-{expires}")
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8")):
            raise SignatureError("the reply address's signature does not verify")
        if expiry <= _seconds(now):
            raise TokenExpiredError("the reply address has expired", _moment(expiry))
        return number

    def _address_signature(self, purpose: Purpose, body: str) -> str:
        signer = Signer(
            self._secret, salt=purpose.value, key_derivation="hmac", digest_method=hashlib.sha256
        )
        digest = signer.algorithm.get_signature(signer.derive_key(), body.encode("ascii"))
        return base64.b32encode(digest).decode("ascii").lower()[:ADDRESS_SIGNATURE_LENGTH]


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("token times must be timezone-aware")
    return int(moment.timestamp())


def _moment(seconds: object) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if isinstance(seconds, int) else None


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
        if number == 0:
            return digits


def _number(text: str) -> int:
    """Base 36, at most 13 digits (what we write); anything else is no token of ours."""
    if len(text) > 13 or any(c not in _BASE36 for c in text):
        raise SignatureError("not a reply token")
    return int(text, 36)
