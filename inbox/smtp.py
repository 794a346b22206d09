"""The SMTP intake (aiosmtpd): refuse unknown recipients at RCPT, store before ``250``.

Replies, by the book (RFC 5321, RFC 3463 enhanced codes):

- ``550 5.1.1`` at RCPT for an address that is not a live agent of ours;
- ``452 4.5.3`` for too many recipients in one transaction;
- ``552`` (aiosmtpd) for a message above the size limit;
- ``451 4.3.0`` when the database cannot take the message (the client retries later);
- ``250 2.0.0`` only after the message is committed to the database.

Messages whose DATA ends while a commit is under way are committed together in the next one
(group commit, :mod:`inbox.commit`); each still hears ``250`` only after its own commit. RCPT
asks the store only when the resolver's cache cannot answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from core.errors import StoreUnavailableError
from core.types import Source
from inbox.addressing import RecipientResolver, ResolvedRecipient
from inbox.commit import GroupCommit
from inbox.ingest import Accepted, Incoming
from store.db import Database

log = logging.getLogger(__name__)

TEMPFAIL = "451 4.3.0 Temporary failure, please try again later"
MAX_PATH = 254  # RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    host: str
    port: int
    hostname: str  # our name in the banner and in Received:
    max_message_size: int
    timeout: float
    max_recipients: int


class IntakeHandler:
    """aiosmtpd handler hooks; each returns a named status line."""

    def __init__(
        self,
        db: Database,
        resolver: RecipientResolver,
        *,
        hostname: str,
        max_recipients: int,
        now: Callable[[], datetime],
        on_stored: Callable[[Sequence[Accepted]], None],
    ) -> None:
        self._resolver = resolver
        self._hostname = hostname
        self._max_recipients = max_recipients
        self._now = now
        self._on_stored = on_stored
        self._recipients: weakref.WeakKeyDictionary[Envelope, list[ResolvedRecipient]] = (
            weakref.WeakKeyDictionary()
        )
        self._committer = GroupCommit(db, now=now, on_stored=self._notify)

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if len(address) > MAX_PATH or any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
            return "553 5.1.7 Sender address too long or malformed"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        accepted = self._recipients.setdefault(envelope, [])
        if len(accepted) >= self._max_recipients:
            return "452 4.5.3 Too many recipients"
        known, resolved = self._resolver.resolve_cached(address)
        try:
            if not known:
                loop = asyncio.get_running_loop()
                resolved = await loop.run_in_executor(None, self._resolver.resolve, address)
        except StoreUnavailableError as exc:
            log.warning("RCPT deferred, store unavailable: %s", exc)
            return TEMPFAIL
        if resolved is None:
            return f"550 5.1.1 <{address}>: no such recipient here"
        accepted.append(resolved)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipients = self._recipients.pop(envelope, [])
        if not recipients:
            return "554 5.5.1 No valid recipients"
        body = envelope.original_content or b""
        raw = self._trace_header(session, envelope) + body
        message = Incoming(raw, envelope.mail_from or "", tuple(recipients), Source.SMTP)
        try:
            stored = await self._committer.store(message)
        except StoreUnavailableError as exc:
            log.warning("DATA deferred, store unavailable: %s", exc)
            return TEMPFAIL
        except Exception:
            log.exception("DATA deferred: could not store the message")
            return TEMPFAIL
        return f"250 2.0.0 Stored as {','.join(str(i) for i in stored.ids)}"

    def close(self) -> None:
        """Commit what is still waiting and stop the writer (blocking)."""
        self._committer.close()

    def _notify(self, batch: Sequence[Accepted]) -> None:
        try:
            self._on_stored(batch)
        except Exception:  # the sweep will find the stored messages again
            log.exception("could not enqueue %d stored message(s)", len(batch))

    def _trace_header(self, session: Session, envelope: Envelope) -> bytes:
        """RFC 5321 §4.4: a server that accepts a message adds a Received: line."""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        helo = (session.host_name or "unknown").replace("\r", "").replace("\n", "")[:200]
        protocol = "UTF8SMTP" if envelope.smtp_utf8 else "ESMTP"
        line = (
            f"Received: from {helo} ([{peer}])\r\n\tby {self._hostname} (Kollegan)"
            f" with {protocol};\r\n\t{format_datetime(self._now())}\r\n"
        )
        return line.encode("utf-8", "replace")


class SmtpIntake:
    """The listening server; start and stop it on a running event loop."""

    def __init__(self, handler: IntakeHandler, options: SmtpOptions) -> None:
        self._handler = handler
        self._options = options
        self._server: asyncio.base_events.Server | None = None

    def _protocol(self) -> SMTP:
        return SMTP(
            self._handler,
            data_size_limit=self._options.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self._options.hostname,
            ident="Kollegan ESMTP",
            timeout=self._options.timeout,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            host=self._options.host,
            port=self._options.port,
            reuse_address=True,
            family=socket.AF_UNSPEC,
        )
        log.info("SMTP intake listening on %s:%s", self._options.host, self.port)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._options.port
        sockname: Any = self._server.sockets[0].getsockname()
        return int(sockname[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await asyncio.get_running_loop().run_in_executor(None, self._handler.close)


@contextmanager
def serving_in_thread(
    intake: SmtpIntake, timeout: float = 30.0
) -> Iterator[asyncio.AbstractEventLoop]:
    """Run ``intake`` on an event loop of its own thread (the demo, tests, the bench);
    yields that loop once the intake listens (``intake.port`` says where); stops it after."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(intake.start())
        except BaseException as exc:  # raised again in the caller's thread below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="kollegan-smtp", daemon=True)
    thread.start()
    started.wait(timeout)
    if failure:
        loop.close()
        raise failure[0]
    try:
        yield loop
    finally:
        asyncio.run_coroutine_threadsafe(intake.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
