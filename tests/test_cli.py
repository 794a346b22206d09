"""The kollegan command: what a user types, what they see (text and --json), exit codes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kollegan.cli import main
from kollegan.samples import sample_invitation
from store.db import Database
from tests.conftest import MAIL_DOMAIN, NOW, SECRET


class Cli:
    """Runs ``kollegan …`` in-process with the environment a user would set."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str, code: int = 0) -> str:
        self.capsys.readouterr()
        assert main(list(argv)) == code, self.capsys.readouterr()
        captured = self.capsys.readouterr()
        return captured.out if code == 0 else captured.err

    def json(self, *argv: str) -> Any:
        return json.loads(self(*argv, "--json"))


@pytest.fixture
def cli(
    tmp_path: Path,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KOLLEGAN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KOLLEGAN_DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("KOLLEGAN_MAIL_DOMAIN", MAIL_DOMAIN)
    monkeypatch.setenv("KOLLEGAN_SECRET_KEY", SECRET)
    monkeypatch.setenv("KOLLEGAN_PREBRIEF_LEAD_TIME", "PT24H")
    return Cli(capsys)


def test_company_create_prints_the_magic_address(cli: Cli) -> None:
    address = cli(
        "company",
        "create",
        "Acme AB",
        "--slug",
        "acme",
        "--domain",
        "acme.example",
        "--admin",
        "anna@acme.example",
    ).strip()
    assert address.startswith("acme.") and address.endswith("@" + MAIL_DOMAIN)
    [company] = cli.json("company", "list")
    assert company["addresses"] == [address]
    assert company["domains"] == ["acme.example"]
    error = cli("company", "create", "X", "--slug", "acme", code=1)
    assert error == "kollegan: a company with slug 'acme' already exists\n"
    error = cli("company", "create", "X", "--slug", "Not A Slug", code=2)
    assert error.startswith("kollegan: --slug") and error.count("\n") == 1


def test_rotating_an_address_revokes_the_old_one(cli: Cli, tmp_path: Path) -> None:
    old = cli("company", "create", "Acme AB", "--slug", "acme").strip()
    new = cli("company", "rotate-address", "acme").strip()
    assert new != old and new.startswith("acme.")
    mail = tmp_path / "m.eml"
    mail.write_bytes(b"From: a@acme.example\r\nSubject: x\r\n\r\nhej\r\n")
    assert "not a live Kollegan address" in cli("inject", str(mail), "--to", old, code=2)
    cli("inject", str(mail), "--to", new)


def test_inject_then_list_meetings_outbox_and_inbound(cli: Cli, tmp_path: Path) -> None:
    address = cli(
        "company", "create", "Acme AB", "--slug", "acme", "--domain", "acme.example"
    ).strip()
    start = (NOW + timedelta(days=30)).replace(hour=13)
    invitation = tmp_path / "invite.eml"
    invitation.write_bytes(
        sample_invitation(
            to=address,
            organizer="anna@acme.example",
            organizer_name="Anna",
            attendees=[("erik@acme.example", "Erik")],
            title="Kvartalsmöte",
            start=start,
            uid="cli-1@acme.example",
            now=NOW,
            message_id="<cli-1@acme.example>",
            join_url="https://teams.microsoft.com/l/meetup-join/19%3aabc",
        )
    )
    [row] = json.loads(cli("inject", str(invitation), "--to", address, "--now", "--json"))
    assert row["status"] == "processed"

    [meeting] = cli.json("meetings", "list")
    assert set(meeting) >= {
        "uid",
        "title",
        "start",
        "end",
        "timezone",
        "organizer",
        "attendees",
        "status",
        "join_url",
        "sequence",
    }
    assert meeting["uid"] == "cli-1@acme.example"
    assert meeting["start"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert meeting["timezone"] == "Europe/Stockholm"
    assert meeting["organizer"] == "anna@acme.example"
    assert "erik@acme.example" in meeting["attendees"]
    assert meeting["status"] == "scheduled"
    assert meeting["sequence"] == 0

    [accepted] = cli.json("outbox", "list", "--kind", "imip-reply")  # the agent said yes
    assert (accepted["to"], accepted["status"]) == (["anna@acme.example"], "sent")
    [mail] = cli.json("outbox", "list", "--kind", "pre-brief")
    assert set(mail) >= {"id", "kind", "to", "subject", "status", "meeting_uid"}
    assert (mail["kind"], mail["to"], mail["meeting_uid"]) == (
        "pre-brief",
        ["anna@acme.example"],
        "cli-1@acme.example",
    )
    assert mail["status"] == "scheduled"  # a month ahead: sent 24 h before
    shown = cli.json("outbox", "show", str(mail["id"]))
    assert "Kvartalsmöte" in shown["text"]
    assert "Kvartalsmöte" in cli("outbox", "show", str(mail["id"]))

    [received] = cli.json("inbound", "list")
    assert set(received) >= {"id", "message_id", "status", "reason", "rule_hits"}
    assert received["message_id"] == "cli-1@acme.example"
    assert cli.json("inbound", "show", str(received["id"]))["command"] == "invitation"
    assert "already processed" in cli("inbound", "retry", str(received["id"]))
    table = cli("meetings", "list").splitlines()
    assert table[0].split() == ["ID", "START", "TITLE", "ORGANIZER", "STATUS"]
    assert "Kvartalsmöte" in table[1]
    assert cli("inbound", "show", "999", code=1) == "kollegan: no inbound message 999\n"


def test_held_message_can_be_retried(cli: Cli, tmp_path: Path) -> None:
    address = cli("company", "create", "Acme AB", "--slug", "acme").strip()
    mail = tmp_path / "plain.eml"
    mail.write_bytes(b"From: a@acme.example\r\nMessage-ID: <p@x>\r\nSubject: x\r\n\r\nhej\r\n")
    [row] = json.loads(cli("inject", str(mail), "--to", address, "--now", "--json"))
    assert row["status"] == "held"
    assert "queued again" in cli("inbound", "retry", str(row["id"]))
    assert cli.json("inbound", "show", str(row["id"]))["status"] == "received"


def test_wrong_settings_fail_with_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLLEGAN_SMTP_PORT", "99999")
    error = cli("meetings", "list", code=2)
    assert error.startswith("kollegan: KOLLEGAN_SMTP_PORT: ")
    assert error.count("\n") == 1


def test_config_lists_every_variable_without_secrets(cli: Cli) -> None:
    rows = cli.json("config")
    names = {row["variable"] for row in rows}
    assert {
        "KOLLEGAN_DATA_DIR",
        "KOLLEGAN_DATABASE_URL",
        "KOLLEGAN_REDIS_URL",
        "KOLLEGAN_MAIL_DOMAIN",
        "KOLLEGAN_SMTP_HOST",
        "KOLLEGAN_SMTP_PORT",
        "KOLLEGAN_WEB_HOST",
        "KOLLEGAN_WEB_PORT",
        "KOLLEGAN_OUTBOX_URL",
        "KOLLEGAN_SECRET_KEY",
        "KOLLEGAN_MAILGUN_SIGNING_KEY",
    } <= names
    assert all(row["help"] for row in rows)
    assert SECRET not in json.dumps(rows)


def test_db_current_reports_head(cli: Cli) -> None:
    assert cli("db", "current").startswith("current ")


def test_calendar_check_reports_meetings_and_refusals(cli: Cli) -> None:
    from tests.conftest import CORPUS

    good = str(CORPUS / "imip-eml" / "tb_single-event_request.eml")
    bad = str(CORPUS / "ics" / "ical4j_boeing.ics")
    out = cli("calendar", "check", good, bad, "--since", "2022-03-01T00:00:00Z")
    assert "tb_single-event_request.eml: REQUEST 'Single Event' 2022-03-16T11:00:00Z" in out
    assert "1 occurrence(s) in the window" in out
    assert "ical4j_boeing.ics: refused (unreadable)" in out
    assert out.rstrip().endswith("2 file(s): 1 understood, 1 refused")
    [first, second] = cli.json("calendar", "check", good, bad)
    assert first["calendars"][0]["events"][0]["start"] == "2022-03-16T11:00:00Z"
    assert (second["refusal"], second["calendars"]) == ("unreadable", [])
