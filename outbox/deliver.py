"""Sending one due mail: claim it (one worker wins), hand it over, record what happened.

Three short transactions — claim, send outside any transaction, mark — so the relay's
slowness never holds a database lock. A worker that dies between claim and mark leaves a
``sending`` row; :func:`release_stale` schedules it again after the lease (the relay may then
see the mail twice, with the same Message-ID: at-least-once, never lost).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import SMTP
from email.utils import parseaddr
from enum import StrEnum

from core.clock import Clock
from core.errors import SendError
from core.types import OutboundStatus
from outbox.compose import with_date
from outbox.send import Sender
from store import outbound
from store.db import Database

log = logging.getLogger(__name__)

RETRY_MINUTES = (1, 5, 15, 60, 240)
MAX_ATTEMPTS = len(RETRY_MINUTES) + 1
CLAIM_LEASE = timedelta(minutes=10)


class Delivery(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    NOT_DUE = "not-due"  # not ours to send now (another worker, moved, cancelled, sent)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=RETRY_MINUTES[min(max(attempts, 1), len(RETRY_MINUTES)) - 1])


def deliver(db: Database, outbound_id: int, sender: Sender, clock: Clock) -> Delivery:
    with db.session() as session:
        row = outbound.claim_due(session, outbound_id, clock.now())
        if row is None:
            return Delivery.NOT_DUE
        raw, recipients = row.raw, list(row.recipients)
        mail_from = _mail_from(raw)
    error: SendError | None = None
    if not raw or not recipients:
        error = SendError("nothing to send (no body or no recipients)", permanent=True)
    else:
        try:
            sender.send(mail_from, recipients, with_date(raw, clock.now()))
        except SendError as exc:
            error = exc
    return _record(db, outbound_id, error, clock.now())


def _record(db: Database, outbound_id: int, error: SendError | None, now: datetime) -> Delivery:
    with db.session() as session:
        row = outbound.get_outbound(session, outbound_id)
        row.attempts += 1
        row.claimed_at = None
        row.updated_at = now
        if error is None:
            row.status, row.sent_at, row.last_error = OutboundStatus.SENT.value, now, None
            log.info("outbound %s (%s) sent", outbound_id, row.kind)
            return Delivery.SENT
        row.last_error = str(error)[:2000]
        if error.permanent or row.attempts >= MAX_ATTEMPTS:
            row.status = OutboundStatus.FAILED.value
            log.warning("outbound %s failed for good: %s", outbound_id, error)
            return Delivery.FAILED
        row.status = OutboundStatus.SCHEDULED.value
        row.send_at = now + retry_delay(row.attempts)
        log.warning("outbound %s will be retried at %s: %s", outbound_id, row.send_at, error)
        return Delivery.RETRY


def release_stale(db: Database, clock: Clock) -> int:
    now = clock.now()
    with db.session() as session:
        return outbound.release_stale_claims(session, claimed_before=now - CLAIM_LEASE, now=now)


def _mail_from(raw: bytes | None) -> str:
    """The envelope sender: the From address of the composed mail."""
    if not raw:
        return ""
    headers = BytesHeaderParser(policy=SMTP).parsebytes(raw)
    return parseaddr(str(headers.get("From", "")))[1]
