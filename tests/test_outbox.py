"""Mail out: composing, the Maildir sink, a real SMTP relay, retries and give-up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.clock import FixedClock
from core.errors import SendError, SettingsError
from core.types import OutboundStatus
from outbox.compose import Envelope, compose, new_message_id, with_date
from outbox.deliver import MAX_ATTEMPTS, Delivery, deliver, release_stale, retry_delay
from outbox.queue import PlannedMail, cancel_mail, plan_mail
from outbox.render import RenderedMail
from outbox.send import MaildirSender, SmtpRelaySender, make_sender
from store import outbound
from store.db import Database
from store.models import Company
from tests.conftest import NOW
from tests.support import free_port, maildir_messages

MAIL = RenderedMail(subject="Inför mötet: Styrgrupp", text="Hej Åsa!\n", html="<p>Hej Åsa!</p>")
ENVELOPE = Envelope(
    from_address="acme.abcdefghijkm@kollegan.test",
    from_name="Kollegan (Acme AB)",
    to=["asa@acme.example"],
    message_id="m-1@kollegan.test",
    kind="pre-brief",
    in_reply_to="inv-1@acme.example",
    references=["older@acme.example"],
)


def test_compose_writes_our_headers_and_both_parts() -> None:
    raw = compose(MAIL, ENVELOPE, NOW)
    message: Any = message_from_bytes(raw, policy=default)
    assert message["Subject"] == "Inför mötet: Styrgrupp"
    assert message["Message-ID"] == "<m-1@kollegan.test>"
    assert message["In-Reply-To"] == "<inv-1@acme.example>"
    assert message["References"] == "<older@acme.example> <inv-1@acme.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Kollegan-Kind"] == "pre-brief"
    assert message["Date"] == "Wed, 25 Nov 2026 08:00:00 +0000"
    assert message.get_content_type() == "multipart/alternative"
    # on the wire every line ends in CRLF (RFC 5322), inside quoted-printable too
    assert message.get_body(("plain",)).get_content() == "Hej Åsa!\r\n"
    assert message.get_body(("html",)).get_content() == "<p>Hej Åsa!</p>\r\n"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_with_date_redates_without_touching_the_rest() -> None:
    raw = compose(MAIL, ENVELOPE, NOW)
    later = with_date(raw, NOW + timedelta(hours=3))
    message: Any = message_from_bytes(later, policy=default)
    assert message["Date"] == "Wed, 25 Nov 2026 11:00:00 +0000"
    assert message["Message-ID"] == "<m-1@kollegan.test>"
    assert message.get_body(("plain",)).get_content() == "Hej Åsa!\r\n"


def test_new_message_ids_are_unique_and_ours() -> None:
    ids = {new_message_id("kollegan.test") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.endswith("@kollegan.test") for i in ids)


def test_maildir_sender_writes_one_file_per_mail(tmp_path: Path) -> None:
    sender = MaildirSender(tmp_path / "outbox")
    sender.send("a@kollegan.test", ["asa@acme.example"], compose(MAIL, ENVELOPE, NOW))
    [mail] = maildir_messages(tmp_path / "outbox")
    assert mail["X-Kollegan-Envelope-To"] == "<asa@acme.example>"
    assert mail["Subject"] == "Inför mötet: Styrgrupp"


def test_maildir_sender_reports_an_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SendError) as caught:
        MaildirSender(blocker / "outbox").send("a@x.test", ["b@y.test"], b"Subject: x\r\n\r\n")
    assert not caught.value.permanent


# -- a real SMTP relay on loopback (aiosmtpd) ---------------------------------------------


class RelaySink:
    """Records what it accepts; answers with the status it is told to."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.answer = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answer.startswith("250"):
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return self.answer


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"kollegan",
        b"hemligt",
    )
    return AuthResult(success=ok)


@contextmanager
def relay(*, auth: bool = False) -> Iterator[tuple[RelaySink, int]]:
    sink = RelaySink()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=_authenticate if auth else None,
        auth_required=False,  # AUTH offered; requiring it without TLS only warns
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def test_smtp_relay_delivers_with_login() -> None:
    raw = compose(MAIL, ENVELOPE, NOW)
    with relay(auth=True) as (sink, port):
        sender = make_sender(f"smtp://kollegan:hemligt@127.0.0.1:{port}", Path("unused"))
        sender.send(ENVELOPE.from_address, ["asa@acme.example"], raw)
    [(mail_from, rcpt_tos, content)] = sink.received
    assert (mail_from, rcpt_tos) == (ENVELOPE.from_address, ["asa@acme.example"])
    assert content.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    ("answer", "permanent"), [("550 5.1.1 No such user", True), ("451 4.3.0 Try later", False)]
)
def test_smtp_relay_refusals_are_classified(answer: str, permanent: bool) -> None:
    with relay() as (sink, port):
        sink.answer = answer
        sender = make_sender(f"smtp://127.0.0.1:{port}", Path("unused"))
        with pytest.raises(SendError) as caught:
            sender.send("a@kollegan.test", ["b@acme.example"], b"Subject: x\r\n\r\nx\r\n")
    assert caught.value.permanent is permanent
    assert answer.split(maxsplit=1)[0] in str(caught.value)


def test_unreachable_relay_is_temporary() -> None:
    sender = SmtpRelaySender("127.0.0.1", 1, implicit_tls=False, timeout=2)
    with pytest.raises(SendError) as caught:
        sender.send("a@kollegan.test", ["b@acme.example"], b"Subject: x\r\n\r\nx\r\n")
    assert not caught.value.permanent


@pytest.mark.parametrize(
    "url",
    ["smtp://", "http://relay.example", "smtp://relay.example:port", "smtp://h:25?starttls=x"],
)
def test_bad_outbox_urls_are_refused_with_the_variable_named(url: str) -> None:
    with pytest.raises(SettingsError, match="KOLLEGAN_OUTBOX_URL"):
        make_sender(url, Path("unused"))


def test_outbox_url_forms() -> None:
    assert isinstance(make_sender(None, Path("/tmp/x")), MaildirSender)
    assert make_sender("maildir:/srv/mail", Path("x")).path == Path("/srv/mail")  # type: ignore[attr-defined]
    relay_sender = make_sender("smtps://u%40x:p%3Aw@relay.example", Path("x"))
    assert isinstance(relay_sender, SmtpRelaySender)
    assert (relay_sender.port, relay_sender.implicit_tls) == (465, True)
    assert (relay_sender.username, relay_sender.password) == ("u@x", "p:w")


# -- planning and delivering ----------------------------------------------------------------


class FlakySender:
    def __init__(self, errors: list[SendError | None]) -> None:
        self.errors = errors
        self.sent: list[bytes] = []

    def send(self, mail_from: str, recipients: Any, raw: bytes) -> None:
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        self.sent.append(raw)


def _company(db: Database) -> int:
    with db.session() as session:
        company = Company(slug="acme", name="Acme AB", created_at=NOW)
        session.add(company)
        session.flush()
        return company.id


def _plan(db: Database, company_id: int, send_at: Any = NOW, key: str = "pre-brief:x") -> int:
    with db.session() as session:
        row = plan_mail(
            session,
            PlannedMail(
                company_id=company_id,
                kind="pre-brief",
                dedupe_key=key,
                recipients=["asa@acme.example"],
                locale="sv",
                subject=MAIL.subject,
                message_id=ENVELOPE.message_id,
                raw=compose(MAIL, ENVELOPE, NOW),
                send_at=send_at,
            ),
            NOW,
        )
        return row.id


def test_planning_twice_keeps_one_row(db: Database) -> None:
    company_id = _company(db)
    first = _plan(db, company_id)
    second = _plan(db, company_id, send_at=NOW + timedelta(hours=1))
    assert first == second
    with db.reader() as session:
        [row] = outbound.list_outbound(session)
        assert row.send_at == NOW + timedelta(hours=1)


def test_delivery_retries_then_gives_up(db: Database) -> None:
    company_id = _company(db)
    outbound_id = _plan(db, company_id)
    clock = FixedClock(NOW)
    sender = FlakySender([SendError("relay down")] * MAX_ATTEMPTS)
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        outcomes.append(deliver(db, outbound_id, sender, clock))
        assert deliver(db, outbound_id, sender, clock) is Delivery.NOT_DUE  # not before the delay
        with db.reader() as session:
            row = outbound.get_outbound(session, outbound_id)
        clock.set(row.send_at)
    assert outcomes == [Delivery.RETRY] * (MAX_ATTEMPTS - 1) + [Delivery.FAILED]
    with db.reader() as session:
        row = outbound.get_outbound(session, outbound_id)
        assert row.status == OutboundStatus.FAILED
        assert row.attempts == MAX_ATTEMPTS
        assert row.last_error == "relay down"
    assert sender.sent == []


def test_retry_delays_grow() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays == sorted(delays)
    assert delays[0] == timedelta(minutes=1)


def test_permanent_refusal_fails_at_once(db: Database) -> None:
    outbound_id = _plan(db, _company(db))
    sender = FlakySender([SendError("550 no such user", permanent=True)])
    assert deliver(db, outbound_id, sender, FixedClock(NOW)) is Delivery.FAILED


def test_delivery_sends_once_and_dates_at_send_time(db: Database) -> None:
    outbound_id = _plan(db, _company(db), send_at=NOW + timedelta(hours=2))
    clock = FixedClock(NOW)
    sender = FlakySender([])
    assert deliver(db, outbound_id, sender, clock) is Delivery.NOT_DUE
    clock.advance(timedelta(hours=2, minutes=1))
    assert deliver(db, outbound_id, sender, clock) is Delivery.SENT
    assert deliver(db, outbound_id, sender, clock) is Delivery.NOT_DUE
    [raw] = sender.sent
    assert b"Date: Wed, 25 Nov 2026 10:01:00 +0000" in raw


def test_cancelled_mail_is_never_sent(db: Database) -> None:
    outbound_id = _plan(db, _company(db))
    with db.session() as session:
        assert cancel_mail(session, "pre-brief:x", NOW)
    sender = FlakySender([])
    assert deliver(db, outbound_id, sender, FixedClock(NOW)) is Delivery.NOT_DUE
    assert sender.sent == []


def test_a_claim_left_by_a_dead_worker_is_released(db: Database) -> None:
    outbound_id = _plan(db, _company(db))
    with db.session() as session:
        assert outbound.claim_due(session, outbound_id, NOW) is not None  # then the worker died
    clock = FixedClock(NOW + timedelta(minutes=5))
    assert release_stale(db, clock) == 0  # still within the lease
    clock.advance(timedelta(minutes=10))
    assert release_stale(db, clock) == 1
    assert deliver(db, outbound_id, FlakySender([]), clock) is Delivery.SENT


def test_concurrent_workers_send_a_mail_once(db: Database) -> None:
    outbound_id = _plan(db, _company(db))
    sender = FlakySender([])
    barrier = threading.Barrier(4)
    results: list[Delivery] = []

    def work() -> None:
        barrier.wait()
        results.append(deliver(db, outbound_id, sender, FixedClock(NOW)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted([Delivery.SENT] + [Delivery.NOT_DUE] * 3)
    assert len(sender.sent) == 1
