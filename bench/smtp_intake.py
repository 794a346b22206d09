"""Bench: SMTP intake (accept → stored → ``250``) against a bare aiosmtpd server.

Both servers run in this process, each on its own event loop thread, with the same aiosmtpd
options; the client (:mod:`bench.client`) runs in a separate process and sends the same
message (only the Message-ID differs) over the same number of reused connections to each.
Kollegan's intake runs on the embedded default — SQLite in WAL mode with ``synchronous=FULL``
and the SQLite-backed queue, in a temporary data dir — exactly as ``kollegan serve`` builds it
(:meth:`kollegan.app.App.smtp_intake`). The worker is off: what is measured is the intake
alone; each stored message still gets its queue entry, nobody consumes it.

Rounds alternate between the two servers so a noisy neighbour hurts both alike. The ratio is
taken between each server's best round (as timeit takes the fastest run: interference only
ever slows a round down); the median of the per-round ratios is printed beside it. Latencies
are pooled over all rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.client import MESSAGE_ID_PLACEHOLDER, ClientResult, Job, run_client
from core.addresses import new_token
from core.settings import Settings
from inbox.smtp import SmtpIntake, SmtpOptions, serving_in_thread
from kollegan.app import App, build_app
from kollegan.samples import sample_invitation
from kollegan.views import company_json
from store import companies, migrate
from store.models import InboundMessage

MAIL_DOMAIN = "bench.localhost"
ORGANIZER = "anna@acme.example"
TARGET_RATIO = 0.5


class DiscardHandler:
    """The baseline: accepts every recipient and every message, keeps nothing."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK"

    def close(self) -> None:
        return None


@dataclass
class Series:
    name: str
    rounds: list[ClientResult] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [r.sent / r.elapsed for r in self.rounds]

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def cpu_per_message(self, kind: str = "server") -> float:
        """CPU time per message sent: the server process (all threads), or its loop thread."""
        spent = sum(getattr(r, f"{kind}_cpu") for r in self.rounds)
        return float(spent / max(1, sum(r.sent for r in self.rounds)))

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.rounds)

    def percentile(self, kind: str, q: float) -> float:
        values: list[float] = sorted(
            v for r in self.rounds for v in getattr(r, f"{kind}_latencies")
        )
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]


@dataclass(frozen=True)
class Served:
    port: int
    loop: asyncio.AbstractEventLoop

    def loop_cpu(self) -> float:
        """CPU time of the event loop's thread so far."""

        async def thread_time() -> float:
            return time.thread_time()

        return asyncio.run_coroutine_threadsafe(thread_time(), self.loop).result(30)


@contextmanager
def serving(intake: SmtpIntake) -> Iterator[Served]:
    """Run an intake on its own event loop thread."""
    with serving_in_thread(intake) as loop:
        yield Served(intake.port, loop)


def make_app(data_dir: Path) -> tuple[App, str]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        mail_domain=MAIL_DOMAIN,
        secret_key=secrets.token_urlsafe(48),
        log_level="WARNING",
    )
    app = build_app(settings)
    migrate.upgrade(app.db)
    with app.db.session() as session:
        company, _agent = companies.create_company(
            session,
            name="Acme AB",
            slug="acme",
            domains=["acme.example"],
            admin_email=ORGANIZER,
            token=new_token(),
            now=app.clock.now(),
        )
        address = str(company_json(company, MAIL_DOMAIN)["addresses"][0])
    return app, address


def make_template(address: str) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    return sample_invitation(
        to=address,
        organizer=ORGANIZER,
        organizer_name="Anna Berg",
        attendees=[("erik@acme.example", "Erik Lind"), ("sara@partner.example", "Sara Holm")],
        title="Styrgrupp",
        start=now + timedelta(hours=3),
        agenda="1. Budget\n2. Beslut",
        join_url="https://teams.microsoft.com/l/meetup-join/19%3ameeting_bench%40thread.v2/0",
        now=now,
        message_id=MESSAGE_ID_PLACEHOLDER.decode(),
    )


def stored_count(app: App) -> int:
    with app.db.reader() as session:
        return int(session.execute(select(func.count(InboundMessage.id))).scalar_one())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def report(
    series: list[Series], args: argparse.Namespace, size: int, stored: int, load: str
) -> float:
    bare, ours = series
    ratio = ours.best / bare.best
    paired = statistics.median(o / b for o, b in zip(ours.rates, bare.rates, strict=True))
    print(
        f"SMTP intake bench: {args.messages} messages of {size} bytes over "
        f"{args.concurrency} reused connections, {args.rounds} round(s) per server "
        f"(+{args.warmup} warm-up), client in its own process; load average {load}."
    )
    print(
        "Kollegan: embedded default (SQLite WAL, synchronous=FULL, SQLite queue); "
        "worker OFF — intake only: accept → stored and committed → 250."
    )
    print()
    header = f"{'server':<18}{'best msg/s':>11}{'median':>9}{'ack p50':>12}{'ack p99':>12}"
    header += f"{'txn p50':>12}{'txn p99':>12}{'CPU/msg':>10}{'(loop)':>9}{'failed':>7}"
    print(header)
    for s in series:
        print(
            f"{s.name:<18}{s.best:>11.1f}{s.median:>9.1f}"
            f"{_ms(s.percentile('ack', 0.50)):>12}{_ms(s.percentile('ack', 0.99)):>12}"
            f"{_ms(s.percentile('transaction', 0.50)):>12}"
            f"{_ms(s.percentile('transaction', 0.99)):>12}"
            f"{s.cpu_per_message() * 1e6:>7.0f} µs{s.cpu_per_message('loop') * 1e6:>6.0f} µs"
            f"{s.failed:>7}"
        )
    print()
    for s in series:
        rounds = ", ".join(f"{rate:.0f}" for rate in s.rates)
        print(f"  {s.name} per round (msg/s): {rounds}")
    print("  ack = end-of-data '.' sent → 250 read; txn = MAIL FROM sent → 250 read")
    print(
        "  CPU/msg = the server process's CPU time (all its threads) per message; "
        "(loop) = its event loop thread's share"
    )
    expected = args.warmup + args.rounds * args.messages
    print(f"  rows stored by Kollegan: {stored} of {expected} sent")
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print()
    print(
        f"ratio Kollegan / bare aiosmtpd: {ratio:.2f} (best rounds; {verdict} the target "
        f"≥ {TARGET_RATIO}); median of per-round ratios {paired:.2f}"
    )
    return ratio


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=1000, help="messages per round")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up messages per server")
    args = parser.parse_args(argv)

    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="kollegan-bench-") as tmp:
        app, address = make_app(Path(tmp))
        template = make_template(address)
        options = SmtpOptions(
            host="127.0.0.1",
            port=0,
            hostname=MAIL_DOMAIN,
            max_message_size=app.settings.max_message_size,
            timeout=app.settings.smtp_timeout,
            max_recipients=app.settings.smtp_max_recipients,
        )
        bare_intake = SmtpIntake(DiscardHandler(), options)  # type: ignore[arg-type]
        ours_intake = app.smtp_intake(host="127.0.0.1", port=0)
        series = [Series("bare aiosmtpd"), Series("Kollegan intake")]
        spawn = multiprocessing.get_context("spawn")
        try:
            with (
                ProcessPoolExecutor(1, mp_context=spawn) as pool,
                serving(bare_intake) as bare_served,
                serving(ours_intake) as ours_served,
            ):
                servers = [bare_served, ours_served]
                next_id = 0

                def send(served: Served, count: int) -> ClientResult:
                    nonlocal next_id
                    first, next_id = next_id, next_id + count
                    job = Job(
                        "127.0.0.1",
                        served.port,
                        ORGANIZER,
                        address,
                        template,
                        first,
                        count,
                        args.concurrency,
                    )
                    cpu, loop_cpu = time.process_time(), served.loop_cpu()
                    result = pool.submit(run_client, job).result()
                    result.server_cpu = time.process_time() - cpu
                    result.loop_cpu = served.loop_cpu() - loop_cpu
                    return result

                for served in servers:
                    send(served, args.warmup)
                for _ in range(args.rounds):
                    for s, served in zip(series, servers, strict=True):
                        s.rounds.append(send(served, args.messages))
            stored = stored_count(app)
        finally:
            app.close()
    report(series, args, len(template), stored, f"{load_before} → {_load()}")
    for s in series:
        errors = [r.first_error for r in s.rounds if r.first_error]
        if errors:
            print(f"  {s.name}: first error: {errors[0]}")
    return 0
