"""The grammar of Kollegan's own addresses (pure: encode, decode, new tokens).

An agent's magic address is ``<slug>.<token>@<mail domain>``, e.g.
``acme.k3vq7xw2m4pa@kollegan.example``. The token identifies the agent (random, stored,
revocable); the slug is decoration for people to read. ``+`` works as the separator too
(``acme+k3vq7xw2m4pa@…``), and case does not matter. ``postmaster`` and ``abuse`` are
accepted as RFC 5321 §4.5.1 and RFC 2142 ask.

A reply address is ``<kind>+<token>@<mail domain>`` (``.`` works as the separator too), e.g.
``approval+1f-t3kq9c-mzxw6ytboi4dgnlk@kollegan.example``: the Reply-To of a mail that asks for
an answer. Here only its grammar is checked — lower-case letters, digits and at least one
``-``, which no agent token has — the signature is :mod:`core.signing`'s business.

It lives in ``core`` because both sides need it: ``inbox`` decodes what arrives and ``outbox``
writes the agent's address on what leaves.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from core.errors import AddressError

TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - no l, o, 0, 1
TOKEN_LENGTH = 12  # 32**12 = 2**60 addresses to guess from
# Used with fullmatch: ``$`` alone would also accept a trailing newline ("acme\n").
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_TOKEN_RE = re.compile(rf"[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}")
ROLE_LOCALPARTS = frozenset({"postmaster", "abuse"})
REPLY_KINDS = frozenset({"approval"})
_REPLY_TOKEN_RE = re.compile(r"[a-z0-9]{1,20}(?:-[a-z0-9]{1,20}){1,3}")
MAX_LOCAL_LENGTH = 64  # RFC 5321 §4.5.3.1.1
MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit minus the angle brackets


@dataclass(frozen=True, slots=True)
class AgentAddress:
    """The magic address of one agent."""

    slug: str
    token: str

    def render(self, domain: str) -> str:
        return encode_agent_address(self.slug, self.token, domain)


@dataclass(frozen=True, slots=True)
class RoleAddress:
    """``postmaster@`` or ``abuse@`` (or a bare ``<postmaster>``)."""

    role: str


@dataclass(frozen=True, slots=True)
class ReplyAddress:
    """A reply address of ours: ``kind`` says what the answer is for, ``token`` which one."""

    kind: str
    token: str

    def render(self, domain: str) -> str:
        return encode_reply_address(self.kind, self.token, domain)


Recipient = AgentAddress | RoleAddress | ReplyAddress


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def is_valid_slug(slug: str) -> bool:
    return bool(SLUG_RE.fullmatch(slug))


def encode_agent_address(slug: str, token: str, domain: str) -> str:
    if not is_valid_slug(slug):
        raise AddressError(f"not a valid slug: {slug!r} (a-z, 0-9 and -, at most 40)")
    if not _TOKEN_RE.fullmatch(token):
        raise AddressError("not a valid address token")
    return f"{slug}.{token}@{domain.lower()}"


def encode_reply_address(kind: str, token: str, domain: str) -> str:
    if kind not in REPLY_KINDS:
        raise AddressError(f"not a reply address kind: {kind!r}")
    if not _REPLY_TOKEN_RE.fullmatch(token) or len(kind) + 1 + len(token) > MAX_LOCAL_LENGTH:
        raise AddressError("not a valid reply token")
    return f"{kind}+{token}@{domain.lower()}"


def decode_address(address: str, domain: str) -> Recipient:
    """Which of our recipients ``address`` names; :class:`AddressError` when none."""
    if not isinstance(address, str):
        raise AddressError("an address must be text")
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    if not address or len(address) > MAX_ADDRESS_LENGTH:
        raise AddressError("empty or over-long address")
    if not address.isascii():
        # Ours are ASCII; str.lower() would otherwise fold e.g. KELVIN SIGN (U+212A) into "k".
        raise AddressError("not an ASCII address")
    local, at, host = address.rpartition("@")
    if not at:
        local, host = address, ""
        if local.lower() not in ROLE_LOCALPARTS:
            raise AddressError(f"no domain in {address!r}")
    elif host.lower().rstrip(".") != domain.lower():
        raise AddressError(f"not our domain: {host!r}")
    local = local.lower()
    if local in ROLE_LOCALPARTS:
        return RoleAddress(local)
    recipient = _decode_agent(local) or _decode_reply(local)
    if recipient is None:
        raise AddressError(f"no agent at {local!r}")
    return recipient


def _decode_agent(local: str) -> AgentAddress | None:
    for separator in (".", "+"):
        slug, sep, token = local.partition(separator)
        if sep and is_valid_slug(slug) and _TOKEN_RE.fullmatch(token):
            return AgentAddress(slug=slug, token=token)
    return None


def _decode_reply(local: str) -> ReplyAddress | None:
    if len(local) > MAX_LOCAL_LENGTH:
        return None
    for separator in ("+", "."):
        kind, sep, token = local.partition(separator)
        if sep and kind in REPLY_KINDS and _REPLY_TOKEN_RE.fullmatch(token):
            return ReplyAddress(kind=kind, token=token)
    return None
