"""Bench: invitations understood per second, against plain ``icalendar`` parsing of the same
files in the same run. Target (the iMIP issue): our whole intake of an invitation at most 3×
the bare parse.

The files: every mail in ``../shared/corpus/imip-eml/`` that carries a calendar (read in
place) and the project's own fixtures (``tests/fixtures/invitations``, ``…/hidden``).

- *bare*: ``icalendar.Calendar.from_ical`` of each calendar part (the parts are cut out of
  the mail beforehand, untimed).
- *ours*: what the worker does with the mail — ``inbox.parse.parse_message``, the acceptance
  rules (``inbox.rules.vet``), and ``calendar_sync.invitations.apply_invitation`` of each
  calendar part into a real SQLite store (the embedded default: WAL, ``synchronous=FULL``),
  one transaction per mail, committed. Each round gets a fresh company (made untimed), so
  every round does the same work: the first copy of a UID creates its series, later ones
  (updates, cancels, replies) find it. The pre-brief (``agent``) is not part of the intake.

Rounds alternate between the two; the ratio is taken between each side's best round (as
timeit does: interference only ever slows a round down), the median beside it. The first
round warms up and is shown apart: what a process pays for the first Outlook VTIMEZONE it
meets (remembered by content afterwards, see ``calendar_sync.normalize``) is in it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from icalendar import Calendar

from calendar_sync.invitations import InvitationSource, apply_invitation
from core.addresses import new_token
from core.errors import CalendarError, ParseError
from inbox.parse import parse_message
from inbox.rules import RuleContext, vet
from store import companies, migrate
from store.db import Database

MAIL_DOMAIN = "bench.localhost"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # the tests' clock: our fixtures are near it
TARGET_RATIO = 3.0
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = (ROOT / "tests" / "fixtures" / "invitations", ROOT / "tests" / "fixtures" / "hidden")


@dataclass(frozen=True, slots=True)
class Invitation:
    name: str
    raw: bytes
    parts: tuple[bytes, ...]  # its calendar parts, for the bare parse


def corpus_dir() -> Path:
    from tests.conftest import CORPUS  # one place finds ../shared/corpus (or the env override)

    return CORPUS / "imip-eml"


def load(folders: list[Path]) -> list[Invitation]:
    """Every mail in ``folders`` that carries at least one calendar part."""
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.eml")):
            raw = path.read_bytes()
            try:
                parts = parse_message(raw).calendars
            except ParseError:
                continue
            if parts:
                found.append(Invitation(f"{folder.name}/{path.name}", raw, tuple(parts)))
    return found


def bare(invitations: list[Invitation]) -> int:
    """``icalendar`` alone; how many parts it read."""
    read = 0
    for invitation in invitations:
        for part in invitation.parts:
            try:
                Calendar.from_ical(part, multiple=True)
            except Exception:  # noqa: S112 - a part icalendar cannot read is still a try
                continue
            read += 1
    return read


class Store:
    """A migrated SQLite store in a temporary directory; a fresh company per round."""

    def __init__(self, directory: Path) -> None:
        self.db = Database(f"sqlite:///{directory / 'bench.db'}")
        migrate.upgrade(self.db)
        self.rounds = 0

    def fresh_company(self) -> tuple[int, int]:
        self.rounds += 1
        with self.db.session() as session:
            company, agent = companies.create_company(
                session,
                name=f"Bench {self.rounds}",
                slug=f"bench{self.rounds}",
                domains=["acme.example"],
                admin_email="anna@acme.example",
                token=new_token(),
                now=NOW,
            )
            return company.id, agent.id


def ours(invitations: list[Invitation], db: Database, company: tuple[int, int]) -> int:
    """The worker's intake of each mail; how many calendar parts were applied."""
    applied = 0
    company_id, agent_id = company
    for invitation in invitations:
        with db.session() as session:
            message = parse_message(invitation.raw)
            sender = message.from_address or ""
            verdict = vet(message, RuleContext(mail_from=sender, mail_domain=MAIL_DOMAIN))
            if verdict.refusal is not None:
                continue
            source = InvitationSource(
                company_id, agent_id, None, message.message_id, sender, "Europe/Stockholm"
            )
            for part in message.calendars:
                try:
                    apply_invitation(session, part, source, NOW)
                except CalendarError:
                    continue
                applied += 1
    return applied


@dataclass
class Side:
    name: str
    times: list[float]

    def rate(self, count: int) -> float:
        return count / min(self.times)

    def median_rate(self, count: int) -> float:
        return count / statistics.median(self.times)


def timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench invitations", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="rounds per side (+1 warm-up)")
    parser.add_argument("--corpus", type=Path, default=None, help="the imip-eml folder")
    args = parser.parse_args(argv)

    folders = [args.corpus or corpus_dir(), *FIXTURES]
    invitations = load(folders)
    parts = sum(len(i.parts) for i in invitations)
    sides = [Side("bare icalendar", []), Side("Kollegan intake", [])]
    with tempfile.TemporaryDirectory(prefix="kollegan-bench-") as tmp:
        store = Store(Path(tmp))
        counts = (0, 0)
        cold = (0.0, 0.0)
        for round_number in range(args.rounds + 1):
            company = store.fresh_company()
            bare_time, bare_read = timed(lambda: bare(invitations))
            ours_time, ours_applied = timed(partial(ours, invitations, store.db, company))
            if round_number == 0:
                cold = (bare_time, ours_time)  # imports, caches, the first SQLite pages
                continue
            sides[0].times.append(bare_time)
            sides[1].times.append(ours_time)
            counts = (bare_read, ours_applied)
        store.db.dispose()
    report(invitations, parts, sides, counts, folders)
    count = len(invitations)
    print(
        f"  first (warm-up) round: bare {cold[0] / count * 1000:.3f} ms/inv, Kollegan "
        f"{cold[1] / count * 1000:.3f} ms/inv (ratio {cold[1] / cold[0]:.2f})"
    )
    return 0


def report(
    invitations: list[Invitation],
    parts: int,
    sides: list[Side],
    counts: tuple[int, int],
    folders: list[Path],
) -> float:
    count = len(invitations)
    print(
        f"Invitation bench: {count} mails with {parts} calendar part(s) from "
        + ", ".join(str(f) for f in folders)
    )
    print(
        f"{len(sides[0].times)} round(s) per side (+1 warm-up), alternating; "
        f"bare read {counts[0]} part(s), Kollegan applied {counts[1]}"
    )
    print()
    print(f"{'':<18}{'best inv/s':>11}{'median':>9}{'best ms/inv':>13}")
    for side in sides:
        print(
            f"{side.name:<18}{side.rate(count):>11.1f}{side.median_rate(count):>9.1f}"
            f"{min(side.times) / count * 1000:>13.3f}"
        )
    ratio = min(sides[1].times) / min(sides[0].times)
    paired = statistics.median(o / b for b, o in zip(sides[0].times, sides[1].times, strict=True))
    verdict = "meets" if ratio <= TARGET_RATIO else "ABOVE"
    print()
    print(
        f"ratio Kollegan / bare (time, best rounds): {ratio:.2f} ({verdict} the target "
        f"≤ {TARGET_RATIO:g}×); median of per-round ratios {paired:.2f}"
    )
    return ratio
