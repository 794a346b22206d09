"""Helpers for tests: a company, a running SMTP intake, mail read back from the Maildir."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from core.addresses import new_token
from inbox.smtp import serving_in_thread
from kollegan.app import App
from kollegan.views import company_json
from store import companies


def create_company(
    app: App,
    *,
    name: str = "Acme AB",
    slug: str = "acme",
    domains: tuple[str, ...] = ("acme.example",),
    admin: str | None = "anna@acme.example",
    locale: str = "sv",
) -> str:
    with app.db.session() as session:
        company, _agent = companies.create_company(
            session,
            name=name,
            slug=slug,
            domains=list(domains),
            admin_email=admin,
            token=new_token(),
            now=app.clock.now(),
            locale=locale,
        )
        return str(company_json(company, app.settings.mail_domain)["addresses"][0])


@contextmanager
def running_intake(app: App) -> Iterator[tuple[str, int]]:
    """The app's SMTP intake on a free loopback port, served from a background thread."""
    intake = app.smtp_intake(host="127.0.0.1", port=0)
    with serving_in_thread(intake, timeout=10):
        yield "127.0.0.1", intake.port


def maildir_messages(path: Path) -> list[EmailMessage]:
    if not path.exists():
        return []
    box = mailbox.Maildir(path, create=False)
    messages = []
    for key in sorted(box.keys()):
        with box.get_file(key) as handle:
            parsed: Any = message_from_bytes(handle.read(), policy=default)
        messages.append(parsed)
    return messages


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def settle(app: App, timeout: float = 15.0) -> None:
    """Wait until no stored message waits and no due mail is unsent (work runs after 250)."""
    import time

    from sqlalchemy import func, or_, select

    from core.types import InboundStatus, OutboundStatus
    from store.models import InboundMessage, OutboundMessage

    deadline = time.monotonic() + timeout
    while True:
        with app.db.reader() as session:
            waiting = session.execute(
                select(func.count()).where(InboundMessage.status == InboundStatus.RECEIVED)
            ).scalar_one()
            unsent = session.execute(
                select(func.count()).where(
                    or_(
                        OutboundMessage.status == OutboundStatus.SENDING,
                        (OutboundMessage.status == OutboundStatus.SCHEDULED)
                        & (OutboundMessage.send_at <= app.clock.now()),
                    )
                )
            ).scalar_one()
        if waiting == 0 and unsent == 0:
            time.sleep(0.05)  # let a task that just committed finish its follow-up
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled: {waiting} waiting, {unsent} unsent")
        time.sleep(0.02)


def free_port() -> int:
    """A TCP port free on loopback right now (for servers that cannot take port 0)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SNAPSHOTS = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, actual: str) -> None:
    """Compare with tests/snapshots/<name>; KOLLEGAN_TEST_UPDATE_SNAPSHOTS=1 rewrites it."""
    import os

    path = SNAPSHOTS / name
    if os.environ.get("KOLLEGAN_TEST_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), (
        f"no snapshot {path}: run with KOLLEGAN_TEST_UPDATE_SNAPSHOTS=1 and review"
    )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its snapshot (see the diff above)"
