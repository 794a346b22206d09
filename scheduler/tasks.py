"""Thin tasks: ids in → one use case → commit. Registered on a Huey instance with the
collaborators they need (the composition root builds :class:`TaskContext`).

- ``process-inbound(ids)``: the inbox pipeline for a few stored messages; a command that raises
  leaves the message ``failed`` with its error (``kollegan inbound retry ID`` re-runs it).
- ``deliver-due()``: send every outbound mail whose time has come.
- ``sweep`` (every minute, and at start): re-enqueue stored messages whose queue entry was
  lost (a crash, a queue outage); release stale send claims; forget old webhook tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from huey.api import Huey
from sqlalchemy.orm import Session

from core.clock import Clock
from core.errors import StoreUnavailableError
from inbox.process import Command, process_inbound
from outbox.deliver import deliver, release_stale
from outbox.send import Sender
from store import inbound, outbound
from store.db import Database

log = logging.getLogger(__name__)

BATCH_SIZE = 16  # messages per queue entry
SWEEP_GRACE = timedelta(seconds=30)  # younger messages still have their queue entry
WEBHOOK_TOKEN_KEEP = timedelta(hours=1)


Job = Callable[[Session, datetime], object]


@dataclass(frozen=True, slots=True)
class TaskContext:
    db: Database
    clock: Clock
    sender: Sender
    commands: Mapping[str, Command]
    mail_domain: str
    webhook_window: timedelta
    jobs: Mapping[str, Job] = field(default_factory=dict)  # run every minute, each alone


@dataclass(frozen=True, slots=True)
class Tasks:
    huey: Huey
    ctx: TaskContext
    process_inbound: Any
    deliver_due: Any
    sweep: Any

    def enqueue_inbound(self, ids: Iterable[int]) -> None:
        """One queue entry per few messages: a burst costs a few entries, not one each."""
        pending = list(ids)
        for start in range(0, len(pending), BATCH_SIZE):
            self.process_inbound(pending[start : start + BATCH_SIZE])

    def recover(self) -> int:
        """At start-up: enqueue every stored message still waiting, and any due mail."""
        waiting = run_sweep(self.ctx, grace=timedelta(0))
        self.enqueue_inbound(waiting)
        self.deliver_due()
        return len(waiting)


def register_tasks(huey: Huey, ctx: TaskContext) -> Tasks:
    @huey.task(name="process-inbound", retries=3, retry_delay=10)
    def process_inbound_task(inbound_ids: list[int]) -> None:
        for inbound_id in inbound_ids:  # a retry skips those already processed
            run_process_inbound(ctx, inbound_id)
        deliver_due_task()

    @huey.task(name="deliver-due", retries=2, retry_delay=10)
    def deliver_due_task() -> None:
        run_deliver_due(ctx)

    tasks: Tasks

    @huey.periodic_task(crontab(minute="*"), name="sweep")
    def sweep_task() -> None:
        tasks.enqueue_inbound(run_sweep(ctx))
        run_jobs(ctx)
        deliver_due_task()

    tasks = Tasks(huey, ctx, process_inbound_task, deliver_due_task, sweep_task)
    return tasks


def run_process_inbound(ctx: TaskContext, inbound_id: int) -> None:
    try:
        with ctx.db.session() as session:
            process_inbound(
                session,
                inbound_id,
                commands=ctx.commands,
                mail_domain=ctx.mail_domain,
                now=ctx.clock.now(),
            )
    except StoreUnavailableError:
        raise  # Huey retries; the sweep covers the rest
    except Exception as exc:
        # the message (and the error's text) stays in the database; logs get no content
        log.error(
            "inbound %s failed: %s (see 'kollegan inbound show %s')",
            inbound_id,
            type(exc).__name__,
            inbound_id,
        )
        log.debug("inbound %s traceback", inbound_id, exc_info=True)
        with ctx.db.session() as session:
            inbound.mark_failed(
                session, inbound_id, f"{type(exc).__name__}: {exc}", ctx.clock.now()
            )


def run_deliver_due(ctx: TaskContext) -> int:
    release_stale(ctx.db, ctx.clock)
    with ctx.db.reader() as session:
        due = outbound.due_ids(session, ctx.clock.now())
    for outbound_id in due:
        deliver(ctx.db, outbound_id, ctx.sender, ctx.clock)
    return len(due)


def run_jobs(ctx: TaskContext) -> None:
    """The periodic jobs (meeting lifecycle, calendar horizon, …), each in its own
    transaction: one failing job does not hold up the others."""
    for name, job in ctx.jobs.items():
        try:
            with ctx.db.session() as session:
                job(session, ctx.clock.now())
        except Exception as exc:
            log.error("periodic job %s failed: %s", name, type(exc).__name__)
            log.debug("periodic job %s traceback", name, exc_info=True)


def run_sweep(ctx: TaskContext, grace: timedelta = SWEEP_GRACE) -> list[int]:
    """Ids of stored messages still waiting after ``grace`` (0 at start-up: after a crash
    nothing of this process is in flight)."""
    now = ctx.clock.now()
    with ctx.db.session() as session:
        inbound.forget_webhook_tokens(
            session, before=now - max(WEBHOOK_TOKEN_KEEP, 2 * ctx.webhook_window)
        )
        waiting = inbound.waiting_ids(session, older_than=now - grace)
    if waiting:
        log.info("sweep: %d stored message(s) re-enqueued", len(waiting))
    return waiting
