"""A crash in the middle of a burst loses nothing and does nothing twice.

``kollegan serve`` runs as a child process; client threads send 200 distinct invitations over
SMTP; after about 80 ``250`` replies the server is killed with SIGKILL (no clean-up of any
kind), then started again. Then:

- every message that got ``250`` is in the database (``250`` is said only after the commit);
- every stored message ends ``processed`` — the start-up recovery finds what was still
  waiting, including messages committed whose ``250`` never reached the client;
- the effect of each message committed exactly once: one meeting per UID, one pre-brief per
  meeting, and each inbound row processed once (see ``_check_exactly_once``).

Finally the client does what a real MTA does with a message that got no ``250``: it sends it
again. The Message-ID deduplication makes that safe, so in the end all 200 are there, once.

Run on the embedded default (SQLite + SQLite queue) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import os
import queue
import secrets
import smtplib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from core.types import InboundStatus
from kollegan.samples import sample_invitation
from store.db import Database
from store.models import InboundMessage, Meeting, OutboundMessage
from tests.conftest import PG_URL, REDIS_URL, unavailable
from tests.serving import ServerProcess, cli, create_company, free_port, kollegan_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = 200
KILL_AFTER_ACKS = 80
CLIENT_THREADS = 4
ORGANIZER = "anna@acme.example"
MAIL_DOMAIN = "kollegan.test"
SETTLE_TIMEOUT = 240.0  # generous: two cores shared with other test runs
QUEUE_NAME = "kollegan"  # fixed in scheduler/queue.py


@dataclass(frozen=True)
class Outgoing:
    message_id: str  # as stored: without the angle brackets
    uid: str
    raw: bytes


@dataclass
class Burst:
    acked: dict[str, str] = field(default_factory=dict)  # message_id → the 250 text
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


def _messages(address: str) -> list[Outgoing]:
    now = datetime.now(UTC).replace(microsecond=0)
    messages = []
    for n in range(MESSAGES):
        uid = f"crash-{n:03d}@acme.example"
        message_id = f"crash-{n:03d}.{uuid.uuid4().hex[:8]}@acme.example"
        raw = sample_invitation(
            to=address,
            organizer=ORGANIZER,
            organizer_name="Anna Berg",
            attendees=[("erik@acme.example", "Erik Lind")],
            title=f"Möte {n}",
            start=now + timedelta(hours=3, minutes=n),
            uid=uid,
            now=now,
            message_id=f"<{message_id}>",
        )
        messages.append(Outgoing(message_id, uid, raw))
    return messages


def _client(port: int, address: str, work: queue.Queue[Outgoing], burst: Burst) -> None:
    """Send until the queue is empty or the server is gone (then stop: it was killed)."""
    try:
        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
        client.ehlo("client.example")
    except OSError as exc:
        with burst.lock:
            burst.errors.append(f"connect: {exc!r}")
        return
    try:
        while True:
            try:
                message = work.get_nowait()
            except queue.Empty:
                return
            client.mail(ORGANIZER)
            client.rcpt(address)
            code, reply = client.data(message.raw)
            if code != 250:
                with burst.lock:
                    burst.errors.append(f"{message.message_id}: {code} {reply!r}")
                continue
            with burst.lock:
                burst.acked[message.message_id] = reply.decode("ascii", "replace")
                if len(burst.acked) >= KILL_AFTER_ACKS:
                    burst.enough.set()
    except (OSError, smtplib.SMTPException) as exc:  # the server was killed under us
        with burst.lock:
            burst.errors.append(repr(exc))
    finally:
        client.close()


def _burst_and_kill(server: ServerProcess, address: str, messages: list[Outgoing]) -> Burst:
    work: queue.Queue[Outgoing] = queue.Queue()
    for message in messages:
        work.put(message)
    burst = Burst()
    threads = [
        threading.Thread(target=_client, args=(server.smtp_port, address, work, burst))
        for _ in range(CLIENT_THREADS)
    ]
    for thread in threads:
        thread.start()
    assert burst.enough.wait(120), f"fewer than {KILL_AFTER_ACKS} acks: {burst.errors[:5]}"
    server.kill()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return burst


def _rows(db: Database) -> list[Any]:
    with db.reader() as session:
        return list(
            session.execute(
                select(
                    InboundMessage.id,
                    InboundMessage.message_id,
                    InboundMessage.status,
                    InboundMessage.attempts,
                    InboundMessage.command,
                    InboundMessage.reason,
                    InboundMessage.error,
                )
            ).all()
        )


def _wait_until_processed(db: Database, server: ServerProcess) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        with db.reader() as session:
            waiting = session.execute(
                select(func.count()).where(InboundMessage.status == InboundStatus.RECEIVED)
            ).scalar_one()
        if waiting == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{waiting} message(s) still waiting:\n{server.output()}")
        time.sleep(0.2)


def _check_exactly_once(db: Database, uid_of: dict[str, str]) -> list[Any]:
    """Every stored message processed, its effect committed once; the stored rows.

    What 'exactly once' means here: processing one message is one transaction — the meeting,
    its planned pre-brief and the row's new status (with ``attempts`` incremented) commit
    together (inbox/process.py). An attempt the crash interrupted rolled back and left no
    trace, not even in ``attempts``; so a row that was processed once shows ``attempts == 1``,
    and its effects show once: one meeting per UID, one pre-brief row per meeting.
    """
    rows = _rows(db)
    problems = [r for r in rows if r.status != InboundStatus.PROCESSED or r.attempts != 1]
    assert not problems, f"not processed exactly once: {problems[:5]}"
    assert all(r.command == "invitation" for r in rows)
    stored = Counter(r.message_id for r in rows)
    assert all(count == 1 for count in stored.values()), stored.most_common(3)
    with db.reader() as session:
        meetings = session.execute(select(Meeting.id, Meeting.uid)).all()
        briefs = session.execute(
            select(OutboundMessage.meeting_id, OutboundMessage.recipients).where(
                OutboundMessage.kind == "pre-brief"
            )
        ).all()
    per_uid = Counter(m.uid for m in meetings)
    assert all(count == 1 for count in per_uid.values()), per_uid.most_common(3)
    assert set(per_uid) == {uid_of[r.message_id] for r in rows}
    per_meeting = Counter(b.meeting_id for b in briefs)
    assert all(count == 1 for count in per_meeting.values()), per_meeting.most_common(3)
    assert set(per_meeting) == {m.id for m in meetings}
    assert all(b.recipients == [ORGANIZER] for b in briefs)
    return rows


def _resend(server: ServerProcess, address: str, messages: list[Outgoing]) -> None:
    with server.smtp() as client:
        for message in messages:
            client.mail(ORGANIZER)
            client.rcpt(address)
            code, reply = client.data(message.raw)
            assert code == 250, (message.message_id, code, reply)


def _crash_and_recover(env: dict[str, str], db_url: str, log_dir: Path) -> None:
    address = create_company(env)
    messages = _messages(address)
    uid_of = {m.message_id: m.uid for m in messages}

    first = ServerProcess(env, log_dir / "serve-1.log")
    try:
        first.wait_ready()
        burst = _burst_and_kill(first, address, messages)
    finally:
        first.close()
    acked = burst.acked
    print(
        f"\n{len(acked)} of {MESSAGES} acknowledged before the SIGKILL; "
        f"client errors after it: {len(burst.errors)}"
    )
    assert KILL_AFTER_ACKS <= len(acked) < MESSAGES, "the kill came too late to matter"
    assert all(reply.startswith("2.0.0 Stored as ") for reply in acked.values())

    db = Database(db_url)
    # durable before anything runs again: every 250 was said after its commit
    at_crash = _rows(db)
    missing = sorted(set(acked) - {r.message_id for r in at_crash})
    assert not missing, f"acknowledged but not stored: {missing[:5]}"
    processed = sum(r.status == InboundStatus.PROCESSED for r in at_crash)
    print(f"at the crash: {len(at_crash)} stored, {processed} of them processed")

    second = ServerProcess(env, log_dir / "serve-2.log")
    try:
        second.wait_ready()
        _wait_until_processed(db, second)
        rows = _check_exactly_once(db, uid_of)
        assert set(acked) <= {r.message_id for r in rows}

        # what a real client does with a message that got no 250: send it again
        _resend(second, address, [m for m in messages if m.message_id not in acked])
        _wait_until_processed(db, second)
        rows = _check_exactly_once(db, uid_of)
        assert len(rows) == MESSAGES
        code = second.terminate()
        assert code == 0, second.output()
    finally:
        second.close()
        db.dispose()


def test_sigkill_mid_burst_loses_nothing_on_sqlite(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = kollegan_env(
        data_dir,
        smtp_port=str(free_port()),
        web_port=str(free_port()),
        mail_domain=MAIL_DOMAIN,
    )
    db_url = f"sqlite:///{data_dir / 'kollegan.db'}"
    _crash_and_recover(env, db_url, tmp_path)


# -- PostgreSQL + Redis ---------------------------------------------------------------------


def _crash_redis_url() -> str:
    """The test Redis, but database 14: the queue name is fixed, so it gets a db of its own."""
    configured = os.environ.get("KOLLEGAN_TEST_CRASH_REDIS_URL")
    if configured:
        return configured
    parts = urlsplit(REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/14", "", ""))


def _forget_queue(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        for key in client.scan_iter(f"huey.*{QUEUE_NAME}*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def postgres_redis_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    name = f"kollegan_crash_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    redis_url = _crash_redis_url()
    try:
        try:
            _forget_queue(redis_url)
        except Exception as exc:
            unavailable("Redis", exc)
        db_url = PG_URL.rsplit("/", 1)[0] + "/" + name
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        env = kollegan_env(
            data_dir,
            database_url=db_url,
            redis_url=redis_url,
            secret_key=secrets.token_urlsafe(48),
            smtp_port=str(free_port()),
            web_port=str(free_port()),
            mail_domain=MAIL_DOMAIN,
        )
        cli(env, "db", "upgrade")  # serve only migrates the embedded SQLite by itself
        yield env, db_url
        _forget_queue(redis_url)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_sigkill_mid_burst_loses_nothing_on_postgres_and_redis(
    postgres_redis_env: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, db_url = postgres_redis_env
    _crash_and_recover(env, db_url, tmp_path)
