"""Accepting a message: raw bytes stored and committed, one row per recipient.

Both intakes (SMTP and the Mailgun webhook) and ``kollegan inject`` come through here; the
caller acknowledges only after :func:`accept` (or :func:`accept_many`) returned, and enqueues
the ids afterwards (a lost queue entry is found again by the sweep).

:func:`accept_many` is group commit: several messages that arrived together share one
transaction, so one disk sync covers all of them. Each is still acknowledged only after that
commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.errors import StoreUnavailableError
from core.types import Source
from inbox.addressing import ResolvedRecipient
from inbox.parse import peek_message_id
from store.db import Database
from store.inbound import Envelope, NewInbound, insert_inbound_many


@dataclass(frozen=True, slots=True)
class Accepted:
    ids: tuple[int, ...]  # one per recipient, in order
    new_ids: tuple[int, ...]  # those stored now (the others were already stored: duplicates)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as an intake received it, not yet stored."""

    raw: bytes
    mail_from: str
    recipients: Sequence[ResolvedRecipient]
    source: Source


def store_message(
    session: Session,
    raw: bytes,
    *,
    mail_from: str,
    recipients: Sequence[ResolvedRecipient],
    source: Source,
    now: datetime,
) -> Accepted:
    rows = _rows(Incoming(raw, mail_from, recipients, source))
    return _accepted(insert_inbound_many(session, rows, now))


def _rows(message: Incoming) -> list[NewInbound]:
    """One row per recipient."""
    message_id = peek_message_id(message.raw)
    return [
        NewInbound(
            raw=message.raw,
            envelope=Envelope(
                mail_from=message.mail_from,
                rcpt_to=recipient.canonical or recipient.address.strip().strip("<>").lower(),
                agent_id=recipient.agent_id,
                company_id=recipient.company_id,
            ),
            message_id=message_id,
            source=message.source,
        )
        for recipient in message.recipients
    ]


def _accepted(results: Sequence[tuple[int, bool]]) -> Accepted:
    ids = tuple(inbound_id for inbound_id, _ in results)
    return Accepted(ids, tuple(inbound_id for inbound_id, is_new in results if is_new))


def accept(
    db: Database,
    raw: bytes,
    *,
    mail_from: str,
    recipients: Sequence[ResolvedRecipient],
    source: Source,
    now: Callable[[], datetime],
) -> Accepted:
    """Store and commit; raises StoreUnavailableError when the database cannot take it."""
    with db.session() as session:
        return store_message(
            session, raw, mail_from=mail_from, recipients=recipients, source=source, now=now()
        )


def accept_many(
    db: Database, messages: Sequence[Incoming], *, now: Callable[[], datetime]
) -> list[Accepted | Exception]:
    """Store several messages in one transaction (group commit); one outcome per message.

    A message that cannot be stored must not take the others down with it: when the shared
    transaction fails, each message is tried again in a transaction of its own. A database
    that is unavailable fails them all (StoreUnavailableError is raised).
    """
    if not messages:
        return []
    try:
        with db.session() as session:
            rows = [_rows(m) for m in messages]
            results = insert_inbound_many(session, [r for rs in rows for r in rs], now())
            accepted: list[Accepted | Exception] = []
            for message_rows in rows:
                accepted.append(_accepted(results[: len(message_rows)]))
                results = results[len(message_rows) :]
            return accepted
    except StoreUnavailableError:
        raise
    except Exception as exc:
        if len(messages) == 1:
            return [exc]
    outcomes: list[Accepted | Exception] = []
    for m in messages:
        try:
            outcomes.append(
                accept(
                    db,
                    m.raw,
                    mail_from=m.mail_from,
                    recipients=m.recipients,
                    source=m.source,
                    now=now,
                )
            )
        except Exception as exc:  # StoreUnavailableError included: the client tries again
            outcomes.append(exc)
    return outcomes
