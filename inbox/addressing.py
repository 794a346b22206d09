"""RCPT-time lookup of our recipients: decode the address, then ask the store (briefly cached).

This only *looks*: the worker checks again with authority. The cache keeps a flood of RCPTs
(or a burst of mail to one agent) from costing one query each; revocation reaches RCPT within
``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.addresses import AgentAddress, Recipient, ReplyAddress, RoleAddress, decode_address
from core.errors import AddressError
from store import companies
from store.db import Database


@dataclass(frozen=True, slots=True)
class ResolvedRecipient:
    address: str  # as the client wrote it
    recipient: Recipient
    agent_id: int | None
    company_id: int | None
    canonical: str = ""  # one spelling per recipient: what rows store and dedupe on


class RecipientResolver:
    def __init__(
        self,
        db: Database,
        mail_domain: str,
        *,
        ttl: float = 10.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._domain = mail_domain
        self._ttl = ttl
        self._max = max_entries
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, companies.AgentRef | None]] = {}
        self._lock = threading.Lock()

    def resolve(self, address: str, *, recheck_unknown: bool = False) -> ResolvedRecipient | None:
        """Ours and live → the recipient; not ours → None. Store errors propagate.

        ``recheck_unknown`` asks the store again about a token cached as unknown — for callers
        whose "no" is final (a webhook's 406 is never retried), so a company created seconds
        ago is not refused for good."""
        known, resolved, recipient = self._from_cache(address)
        if recipient is None or (known and not (recheck_unknown and resolved is None)):
            return resolved  # not an agent address, or the cache's answer will do
        with self._db.reader() as session:
            ref = companies.find_live_agent(session, recipient.token)
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[recipient.token] = (self._monotonic() + self._ttl, ref)
        return self._resolved(address, recipient, ref)

    def resolve_cached(self, address: str) -> tuple[bool, ResolvedRecipient | None]:
        """:meth:`resolve` without the store: ``(True, answer)`` when the answer is known
        (not ours, a role address, or a fresh cache entry), ``(False, None)`` when only the
        store can tell. Cheap enough to call on the event loop."""
        known, resolved, _recipient = self._from_cache(address)
        return known, resolved

    def _from_cache(
        self, address: str
    ) -> tuple[bool, ResolvedRecipient | None, AgentAddress | None]:
        try:
            recipient = decode_address(address, self._domain)
        except AddressError:
            return True, None, None
        if isinstance(recipient, RoleAddress):
            canonical = f"{recipient.role}@{self._domain}"
            return True, ResolvedRecipient(address, recipient, None, None, canonical), None
        if isinstance(recipient, ReplyAddress):
            # Only the grammar here: the worker checks the signature with authority and
            # records a refusal, so a forged or expired reply is kept and visible.
            canonical = recipient.render(self._domain)
            return True, ResolvedRecipient(address, recipient, None, None, canonical), None
        with self._lock:
            cached = self._cache.get(recipient.token)
        if cached is None or cached[0] <= self._monotonic():
            return False, None, recipient
        return True, self._resolved(address, recipient, cached[1]), recipient

    def _resolved(
        self, address: str, recipient: AgentAddress, ref: companies.AgentRef | None
    ) -> ResolvedRecipient | None:
        if ref is None:
            return None
        canonical = recipient.render(self._domain)
        return ResolvedRecipient(address, recipient, ref.agent_id, ref.company_id, canonical)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
