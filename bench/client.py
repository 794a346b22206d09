"""A lean SMTP load client: N messages over K connections, each connection reused.

Runs in its own process (the server under test keeps the interpreter it runs in to itself).
Per message: ``MAIL FROM`` → ``RCPT TO`` → ``DATA`` → body → ``.``; no ``RSET`` (a finished
transaction resets the state). Two latencies per message:

- *ack*: from the end-of-data ``.`` sent to the ``250`` read — what the server spends to
  store the message before it acknowledges it;
- *transaction*: from ``MAIL FROM`` sent to that ``250``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

MESSAGE_ID_PLACEHOLDER = b"<bench-PLACEHOLD@bench.localhost>"  # as long as a real one


@dataclass(frozen=True)
class Job:
    """What one client run sends, and where."""

    host: str
    port: int
    mail_from: str
    rcpt_to: str
    template: bytes  # holds MESSAGE_ID_PLACEHOLDER once
    first: int  # Message-IDs are numbered from here
    count: int
    concurrency: int


@dataclass
class ClientResult:
    sent: int = 0
    failed: int = 0
    elapsed: float = 0.0
    ack_latencies: list[float] = field(default_factory=list)
    transaction_latencies: list[float] = field(default_factory=list)
    first_error: str | None = None
    server_cpu: float = 0.0  # filled in by the caller, which hosts the server
    loop_cpu: float = 0.0  # … and of those, the server's event loop thread


class SmtpReplyError(Exception):
    pass


def dot_stuff(raw: bytes) -> bytes:
    """RFC 5321 §4.5.2 transparency, and the end-of-data line."""
    data = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise SmtpReplyError("connection closed")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


async def _expect(reader: asyncio.StreamReader, code: int) -> None:
    got, text = await _reply(reader)
    if got != code:
        raise SmtpReplyError(text.decode("ascii", "replace").strip())


async def _connection(job: Job, messages: Iterator[bytes], result: ClientResult) -> None:
    reader, writer = await asyncio.open_connection(job.host, job.port)
    try:
        await _expect(reader, 220)
        writer.write(b"EHLO bench.localhost\r\n")
        await _expect(reader, 250)
        mail = f"MAIL FROM:<{job.mail_from}>\r\n".encode()
        rcpt = f"RCPT TO:<{job.rcpt_to}>\r\n".encode()
        for data in messages:
            started = time.perf_counter()
            try:
                writer.write(mail)
                await _expect(reader, 250)
                writer.write(rcpt)
                await _expect(reader, 250)
                writer.write(b"DATA\r\n")
                await _expect(reader, 354)
                ending = time.perf_counter()
                writer.write(data)
                await _expect(reader, 250)
            except SmtpReplyError as exc:
                result.failed += 1
                result.first_error = result.first_error or str(exc)
                writer.write(b"RSET\r\n")
                await _reply(reader)
                continue
            done = time.perf_counter()
            result.sent += 1
            result.ack_latencies.append(done - ending)
            result.transaction_latencies.append(done - started)
        writer.write(b"QUIT\r\n")
        await _reply(reader)
    finally:
        writer.close()
        await writer.wait_closed()


async def _run(job: Job) -> ClientResult:
    stuffed = dot_stuff(job.template)
    # every message the same size and bytes but its Message-ID (the intake deduplicates on it)
    messages = iter(
        [
            stuffed.replace(MESSAGE_ID_PLACEHOLDER, f"<bench-{n:09d}@bench.localhost>".encode())
            for n in range(job.first, job.first + job.count)
        ]
    )
    result = ClientResult()
    started = time.perf_counter()
    await asyncio.gather(*(_connection(job, messages, result) for _ in range(job.concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


def run_client(job: Job) -> ClientResult:
    """Send ``job.count`` copies of the template over ``job.concurrency`` connections."""
    return asyncio.run(_run(job))
