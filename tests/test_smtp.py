"""The SMTP intake speaks RFC 5321 as promised: refusals at RCPT, storage before 250."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from huey import MemoryHuey

from core.addresses import new_token
from core.clock import FixedClock
from core.errors import StoreUnavailableError
from core.types import InboundStatus
from kollegan.app import App, build_app
from store import companies, inbound
from store.db import Database
from tests.conftest import MAIL_DOMAIN, make_settings
from tests.support import create_company, running_intake, settle

pytestmark = pytest.mark.integration

MESSAGE = (
    b"From: Anna <anna@acme.example>\r\nTo: agent\r\nSubject: hej\r\n"
    b"Message-ID: <m1@acme.example>\r\n\r\nHej!\r\n"
)


@contextmanager
def client(host: str, port: int) -> Iterator[smtplib.SMTP]:
    connection = smtplib.SMTP(host, port, timeout=10)
    try:
        connection.ehlo("client.example")
        yield connection
    finally:
        try:
            connection.quit()
        except smtplib.SMTPServerDisconnected:
            connection.close()


def rows(app: App) -> list[Any]:
    with app.db.reader() as session:
        return list(inbound.list_inbound(session))


def test_unknown_recipients_are_refused_at_rcpt(app: App, acme: str) -> None:
    wrong_token = acme.split(".", maxsplit=1)[0] + "." + new_token() + "@" + MAIL_DOMAIN
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("anna@acme.example")
        for address in (
            "nobody@" + MAIL_DOMAIN,
            wrong_token,
            acme.replace(MAIL_DOMAIN, "elsewhere.example"),
            "not an address",
        ):
            code, text = smtp.rcpt(address)
            assert code == 550, (address, text)
            if "@" in address and " " not in address:
                assert text.startswith(b"5.1.1"), text
        code, _ = smtp.rcpt(acme)
        assert code == 250
    assert rows(app) == []


def test_message_is_committed_before_250(app: App, acme: str) -> None:
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("anna@acme.example")
        smtp.rcpt(acme)
        code, text = smtp.data(MESSAGE)
        assert code == 250
        assert text.startswith(b"2.0.0 Stored as ")
        stored_id = int(text.rsplit(b" ", 1)[1])
        with app.db.reader() as session:  # no waiting: it is there already
            row = inbound.get_inbound(session, stored_id, with_raw=True)
            assert row.rcpt_to == acme
            assert row.mail_from == "anna@acme.example"
            assert row.message_id == "m1@acme.example"
            assert row.source == "smtp"
            assert row.raw.startswith(b"Received: from client.example ([127.0.0.1])")
            assert row.raw.endswith(MESSAGE)
        settle(app)


def test_plus_separator_and_case_reach_the_same_agent(app: App, acme: str) -> None:
    variant = acme.replace(".", "+", 1).upper()
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.sendmail("anna@acme.example", [variant], MESSAGE)
        settle(app)
    [row] = rows(app)
    assert row.company_id is not None


def test_postmaster_and_abuse_are_accepted_and_kept(app: App, acme: str) -> None:
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("someone@example.org")
        assert smtp.rcpt("<Postmaster>")[0] == 250  # RFC 5321 §4.5.1: no domain needed
        assert smtp.rcpt("abuse@" + MAIL_DOMAIN)[0] == 250
        assert smtp.data(MESSAGE)[0] == 250
        settle(app)
    found = rows(app)
    assert len(found) == 2
    assert {r.status for r in found} == {InboundStatus.HELD}
    assert all("postmaster" in (r.reason or "") for r in found)


def test_same_message_twice_is_stored_once(app: App, acme: str) -> None:
    with running_intake(app) as (host, port), client(host, port) as smtp:
        first = smtp.sendmail("anna@acme.example", [acme], MESSAGE)
        second = smtp.sendmail("anna@acme.example", [acme], MESSAGE)
        settle(app)
    assert first == second == {}
    assert len(rows(app)) == 1


def test_one_row_per_recipient_company(app: App, acme: str) -> None:
    other = create_company(app, name="Beta AB", slug="beta", domains=("beta.example",))
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.sendmail("anna@acme.example", [acme, other], MESSAGE)
        settle(app)
    assert sorted(r.rcpt_to for r in rows(app)) == sorted([acme, other])


def test_revoked_address_is_refused(app: App, acme: str) -> None:
    with app.db.session() as session:
        company = companies.get_company_by_slug(session, "acme")
        companies.rotate_agent_token(session, company, new_token(), app.clock.now())
    app.resolver.forget()
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("anna@acme.example")
        assert smtp.rcpt(acme)[0] == 550


def small_app(tmp_path: Path, clock: FixedClock, db: Database, **overrides: Any) -> App:
    settings = make_settings(tmp_path, db, **overrides)
    return build_app(settings, clock=clock, huey=MemoryHuey(immediate=True))


def test_over_the_size_limit_gets_552(
    tmp_path: Path, clock: FixedClock, sqlite_db: Database
) -> None:
    app = small_app(tmp_path, clock, sqlite_db, max_message_size=4096)
    address = create_company(app)
    with running_intake(app) as (host, port), client(host, port) as smtp:
        assert smtp.has_extn("size")
        assert smtp.esmtp_features["size"] == "4096"
        smtp.mail("anna@acme.example")
        smtp.rcpt(address)
        code, _ = smtp.data(MESSAGE + (b"x" * 70 + b"\r\n") * 150)
        assert code == 552
        smtp.rset()
        code, _ = smtp.mail("anna@acme.example", options=["SIZE=100000"])
        assert code == 552  # refused up front when the client declares the size
    assert rows(app) == []
    app.close()


def test_too_many_recipients_get_452(
    tmp_path: Path, clock: FixedClock, sqlite_db: Database
) -> None:
    app = small_app(tmp_path, clock, sqlite_db, smtp_max_recipients=1)
    address = create_company(app)
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("anna@acme.example")
        assert smtp.rcpt(address)[0] == 250
        code, text = smtp.rcpt(address)
        assert (code, text) == (452, b"4.5.3 Too many recipients")
    app.close()


def test_idle_session_times_out(tmp_path: Path, clock: FixedClock, sqlite_db: Database) -> None:
    app = small_app(tmp_path, clock, sqlite_db, smtp_timeout=0.3)
    with running_intake(app) as (host, port):
        with socket.create_connection((host, port), timeout=10) as raw:
            assert raw.recv(1024).startswith(b"220 ")
            time.sleep(1.0)
            raw.settimeout(10)
            received = b""
            while chunk := raw.recv(1024):  # the server closes the idle session
                received += chunk
        # the loop above ended: the server closed the idle session (aiosmtpd sends no 421)
        assert received in (b"",) or received.startswith(b"421 ")
    app.close()


def test_smtputf8_message_is_stored_byte_for_byte(app: App, acme: str) -> None:
    raw = (
        "From: Åsa Öberg <åsa@exempel.se>\r\nTo: agent\r\nSubject: Mötet på fredag\r\n"
        "Message-ID: <utf8@exempel.se>\r\n\r\nHälsningar!\r\n"
    ).encode()
    with running_intake(app) as (host, port), client(host, port) as smtp:
        assert smtp.has_extn("smtputf8")
        smtp.sendmail("åsa@exempel.se", [acme], raw, mail_options=["SMTPUTF8"])
        settle(app)
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.mail_from == "åsa@exempel.se"
        assert inbound.get_inbound(session, row.id, with_raw=True).raw.endswith(raw)


class _FailingDatabase(Database):
    """Our own Database whose writes fail as when PostgreSQL is down (reads still work)."""

    broken = False

    def session(self) -> Any:
        if self.broken:
            raise StoreUnavailableError("database unavailable: connection refused")
        return super().session()


def test_database_down_gives_451_at_rcpt(tmp_path: Path, clock: FixedClock) -> None:
    settings = make_settings(
        tmp_path, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    )
    app = build_app(settings, clock=clock, huey=MemoryHuey(immediate=True))
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("anna@acme.example")
        code, text = smtp.rcpt("acme." + new_token() + "@" + MAIL_DOMAIN)
        assert (code, text[:5]) == (451, b"4.3.0")
    app.close()


def test_database_down_at_data_gives_451_and_nothing_is_lost(
    tmp_path: Path, clock: FixedClock, sqlite_db: Database
) -> None:
    app = small_app(tmp_path, clock, sqlite_db)
    address = create_company(app)
    failing = _FailingDatabase(app.settings.effective_database_url)
    app.db = failing
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.mail("anna@acme.example")
        assert smtp.rcpt(address)[0] == 250
        failing.broken = True
        code, text = smtp.data(MESSAGE)
        assert (code, text[:5]) == (451, b"4.3.0")
        failing.broken = False  # the client retries later, and then it is stored
        smtp.mail("anna@acme.example")
        smtp.rcpt(address)
        assert smtp.data(MESSAGE)[0] == 250
        settle(app)
    assert [r.status for r in rows(app)] == [InboundStatus.HELD]
    app.close()


def test_one_recipient_spelled_two_ways_is_one_message(app: App, acme: str) -> None:
    variant = acme.replace(".", "+", 1).upper()
    with running_intake(app) as (host, port), client(host, port) as smtp:
        smtp.sendmail("anna@acme.example", [acme], MESSAGE)
        smtp.sendmail("anna@acme.example", [variant], MESSAGE)
        settle(app)
    [row] = rows(app)
    assert row.rcpt_to == acme  # stored under the canonical spelling


def test_overlong_or_malformed_sender_is_refused_at_mail(app: App, acme: str) -> None:
    with running_intake(app) as (host, port), client(host, port) as smtp:
        code, text = smtp.mail("a" * 300 + "@acme.example")
        assert (code, text[:5]) == (553, b"5.1.7")
        assert smtp.mail("anna@acme.example")[0] == 250


def test_a_webhook_lookup_rechecks_an_address_cached_as_unknown(app: App) -> None:
    token = new_token()
    address = f"acme.{token}@{MAIL_DOMAIN}"
    assert app.resolver.resolve(address) is None  # unknown now, and cached as unknown
    with app.db.session() as session:
        companies.create_company(
            session,
            name="Acme AB",
            slug="acme",
            domains=[],
            admin_email=None,
            token=token,
            now=app.clock.now(),
        )
    assert app.resolver.resolve(address) is None  # RCPT may use the cache for a while
    resolved = app.resolver.resolve(address, recheck_unknown=True)  # a webhook may not
    assert resolved is not None and resolved.canonical == address
