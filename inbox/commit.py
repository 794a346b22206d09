"""Group commit for the SMTP intake: one writer thread, many messages per transaction.

Each DATA hands its message to the writer and waits. The writer takes everything that is
waiting (up to a limit), stores it in one transaction (:func:`inbox.ingest.accept_many`) and
only after that commit tells each waiting caller its outcome; the caller answers ``250``.
Messages that arrive during a commit go together into the next one. Nobody waits for a batch
to fill: a message arriving at an idle writer is committed at once.

Why: with ``synchronous=FULL`` every commit costs a disk sync, and concurrent writers queue on
SQLite's write lock (sleeping in its busy handler). One writer and one sync per batch keeps the
durability promise — committed before ``250`` — at a fraction of the cost per message.

After each commit the newly stored messages are handed to ``on_stored`` (to enqueue their
processing), in the writer thread, after their callers were told.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from inbox.ingest import Accepted, Incoming, accept_many
from store.db import Database

log = logging.getLogger(__name__)

MAX_BATCH_MESSAGES = 200
MAX_BATCH_BYTES = 32 * 1024 * 1024
JOIN_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class _Waiting:
    message: Incoming
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Accepted]


_Outcome = tuple["asyncio.Future[Accepted]", Accepted | Exception]


def _settle(pairs: list[_Outcome]) -> None:
    """On the caller's event loop: give each waiting caller its outcome."""
    for future, outcome in pairs:
        if future.done():  # the caller went away meanwhile (e.g. the client hung up)
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class GroupCommit:
    def __init__(
        self,
        db: Database,
        *,
        now: Callable[[], datetime],
        on_stored: Callable[[Sequence[Accepted]], None],
        max_messages: int = MAX_BATCH_MESSAGES,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._db = db
        self._now = now
        self._on_stored = on_stored
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def store(self, message: Incoming) -> Accepted:
        """Store and commit ``message``; return once it is committed (raise if it was not)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Accepted] = loop.create_future()
        self._start()
        self._queue.put(_Waiting(message, loop, future))
        return await future

    def close(self) -> None:
        """Commit what is waiting, then stop the writer (blocks: call it off the loop)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._queue.put(None)
        thread.join(JOIN_TIMEOUT)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kollegan-group-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._fill([first])
            self._commit(batch)
            if stop:
                return

    def _fill(self, batch: list[_Waiting]) -> tuple[list[_Waiting], bool]:
        """Add what else is waiting, up to the limits; True also when told to stop."""
        size = sum(len(w.message.raw) for w in batch)
        while len(batch) < self._max_messages and size < self._max_bytes:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if waiting is None:
                return batch, True
            batch.append(waiting)
            size += len(waiting.message.raw)
        return batch, False

    def _commit(self, batch: list[_Waiting]) -> None:
        outcomes: list[Accepted | Exception]
        try:
            outcomes = accept_many(self._db, [w.message for w in batch], now=self._now)
        except Exception as exc:  # StoreUnavailableError above all: each caller answers 451
            outcomes = [exc] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for waiting, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(waiting.loop, []).append((waiting.future, outcome))
        for loop, pairs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, pairs)
            except RuntimeError:  # that loop is closed: nobody waits for these any more
                log.warning("%d stored message(s) committed after their intake stopped", len(pairs))
        stored = [o for o in outcomes if isinstance(o, Accepted) and o.new_ids]
        if stored:
            try:
                self._on_stored(stored)
            except Exception:  # the sweep finds them again
                log.exception("could not hand over %d stored message(s)", len(stored))
