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

from core.addresses import AgentAddress, Recipient, RoleAddress, decode_address
from core.errors import AddressError
from store import companies
from store.db import Database


@dataclass(frozen=True, slots=True)
class ResolvedRecipient:
    address: str  # as the client wrote it
    recipient: Recipient
    agent_id: int | None
    company_id: int | None


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

    def resolve(self, address: str) -> ResolvedRecipient | None:
        """Ours and live → the recipient; not ours → None. Store errors propagate."""
        try:
            recipient = decode_address(address, self._domain)
        except AddressError:
            return None
        if isinstance(recipient, RoleAddress):
            return ResolvedRecipient(address, recipient, None, None)
        ref = self._lookup(recipient)
        if ref is None:
            return None
        return ResolvedRecipient(address, recipient, ref.agent_id, ref.company_id)

    def resolve_cached(self, address: str) -> tuple[bool, ResolvedRecipient | None]:
        """:meth:`resolve` without the store: ``(True, answer)`` when the answer is known
        (not ours, a role address, or a fresh cache entry), ``(False, None)`` when only the
        store can tell. Cheap enough to call on the event loop."""
        try:
            recipient = decode_address(address, self._domain)
        except AddressError:
            return True, None
        if isinstance(recipient, RoleAddress):
            return True, ResolvedRecipient(address, recipient, None, None)
        with self._lock:
            cached = self._cache.get(recipient.token)
        if cached is None or cached[0] <= self._monotonic():
            return False, None
        ref = cached[1]
        if ref is None:
            return True, None
        return True, ResolvedRecipient(address, recipient, ref.agent_id, ref.company_id)

    def _lookup(self, recipient: AgentAddress) -> companies.AgentRef | None:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(recipient.token)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._db.reader() as session:
            ref = companies.find_live_agent(session, recipient.token)
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[recipient.token] = (now + self._ttl, ref)
        return ref

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
