"""The acceptance rules on crafted messages: every hit is recorded, the first one decides."""

from __future__ import annotations

import re

import pytest

from inbox.parse import ParsedMessage, parse_message
from inbox.rules import RULES, Rule, RuleContext, vet

DOMAIN = "kollegan.test"
PERSON = "anna@acme.example"


def crafted(*headers: str, body: str = "Hej! Kan vi ses på torsdag?") -> ParsedMessage:
    """A message from Anna unless the headers say otherwise; headers as 'Name: value'."""
    names = {header.split(":", 1)[0].lower() for header in headers}
    defaults = [
        f"From: Anna <{PERSON}>",
        "To: acme.k3vq7xw2m4pa@kollegan.test",
        "Subject: Fika",
        "Message-ID: <1234@acme.example>",
    ]
    lines = [*headers, *(h for h in defaults if h.split(":", 1)[0].lower() not in names)]
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()
    return parse_message(raw)


def hits(message: ParsedMessage, mail_from: str = PERSON) -> tuple[str, ...]:
    return vet(message, RuleContext(mail_from=mail_from, mail_domain=DOMAIN)).hits


def test_ordinary_mail_from_a_person_hits_no_rule_and_is_accepted() -> None:
    verdict = vet(crafted(), RuleContext(mail_from=PERSON, mail_domain=DOMAIN))
    assert verdict.hits == ()
    assert verdict.refusal is None
    assert verdict.accepted


def test_rule_names_are_unique_and_kebab_case() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", name) for name in names)
    assert names == ["own-mail", "loop", "bounce", "auto-submitted", "no-sender", "no-content"]


# -- own-mail -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "X-Kollegan-Kind: prebrief",
        "From: Kollegan <acme.k3vq7xw2m4pa@kollegan.test>",
        "From: Kollegan <NOREPLY@KOLLEGAN.TEST>",
        "Message-ID: <prebrief.42@kollegan.test>",
        "Message-ID: <PREBRIEF.42@Kollegan.Test>",
    ],
)
def test_our_own_mail_coming_back_hits_own_mail(header: str) -> None:
    assert "own-mail" in hits(crafted(header))


@pytest.mark.parametrize(
    "header",
    [
        "From: Eve <eve@notkollegan.test>",
        "Message-ID: <1234@notkollegan.test>",
        "Message-ID: <kollegan.test@acme.example>",
        "X-Kollegan: hello",
    ],
)
def test_mail_that_only_resembles_ours_does_not_hit_own_mail(header: str) -> None:
    assert "own-mail" not in hits(crafted(header))


# -- loop -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["kollegan.test", "KOLLEGAN.TEST", "acme@kollegan.test", "<mx1.kollegan.test>"]
)
def test_x_loop_naming_our_domain_hits_loop(value: str) -> None:
    assert "loop" in hits(crafted(f"X-Loop: {value}"))


@pytest.mark.parametrize("value", ["lists.acme.example", "notkollegan.test", "kollegan.testing"])
def test_x_loop_naming_another_domain_does_not_hit_loop(value: str) -> None:
    assert "loop" not in hits(crafted(f"X-Loop: {value}"))


# -- bounce ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mail_from", ["", "<>", " <> ", "MAILER-DAEMON@mx.acme.example", "postmaster@x"]
)
def test_a_bounce_envelope_sender_hits_bounce(mail_from: str) -> None:
    assert "bounce" in hits(crafted(), mail_from=mail_from)


def test_a_delivery_status_report_hits_bounce_whatever_the_envelope() -> None:
    report = crafted(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
            "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
            "Final-Recipient: rfc822; bob@acme.example\r\nAction: failed\r\n"
            "Status: 5.1.1\r\n--b--"
        ),
    )
    assert report.content_type == "multipart/report"
    assert "bounce" in hits(report, mail_from=PERSON)


def test_x_failed_recipients_hits_bounce() -> None:
    assert "bounce" in hits(crafted("X-Failed-Recipients: bob@acme.example"))


def test_a_person_who_is_not_a_mailer_daemon_does_not_hit_bounce() -> None:
    assert "bounce" not in hits(crafted(), mail_from="daemon.fan@acme.example")


# -- auto-submitted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: Auto-Replied; owner-email=anna@acme.example",
        "Auto-Submitted: auto-notified (vacation)",
        "Precedence: bulk",
        "Precedence: Junk",
        "Precedence: list",
        "Precedence: auto_reply",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
    ],
)
def test_automatic_replies_and_bulk_mail_hit_auto_submitted(header: str) -> None:
    assert "auto-submitted" in hits(crafted(header))


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "Auto-Submitted: No",
        "Auto-Submitted: no (sent by a person)",
        "Auto-Submitted: (sent by a person) no",
        "Precedence: first-class",
        "X-Auto-Response-Suppress: All",  # Outlook on ordinary invitations
    ],
)
def test_auto_submitted_no_and_ordinary_precedence_do_not_hit(header: str) -> None:
    assert "auto-submitted" not in hits(crafted(header))


def test_a_calendar_systems_auto_generated_invitation_is_not_an_auto_reply() -> None:
    invitation = (
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\nInvitation\r\n--b\r\n"
        "Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n"
        "METHOD:REQUEST\r\nEND:VCALENDAR\r\n--b--"
    )
    google = crafted("Auto-Submitted: auto-generated", "MIME-Version: 1.0", body="")
    assert "auto-submitted" in hits(google)  # without a calendar it is an auto-reply
    with_calendar = parse_message(
        (
            f"From: Anna <{PERSON}>\r\nSubject: Inbjudan\r\nMessage-ID: <g@acme.example>\r\n"
            "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n" + invitation
        ).encode()
    )
    assert with_calendar.calendars
    assert "auto-submitted" not in hits(with_calendar)
    bulk = parse_message(
        (
            f"From: Anna <{PERSON}>\r\nSubject: Inbjudan\r\nMessage-ID: <h@acme.example>\r\n"
            "Precedence: bulk\r\nMIME-Version: 1.0\r\n" + invitation
        ).encode()
    )
    assert "auto-submitted" in hits(bulk)  # a mailing list's copy is still bulk


# -- no-sender, no-content ------------------------------------------------------------------


@pytest.mark.parametrize("from_header", ["From: undisclosed-recipients:;", "From: Anna", "From: "])
def test_a_from_without_an_address_hits_no_sender(from_header: str) -> None:
    assert "no-sender" in hits(crafted(from_header))


def test_a_message_without_from_hits_no_sender() -> None:
    raw = b"To: acme.k3vq7xw2m4pa@kollegan.test\r\nSubject: who?\r\n\r\nHej\r\n"
    assert "no-sender" in hits(parse_message(raw))


@pytest.mark.parametrize("body", ["", "   \r\n\t\r\n"])
def test_a_message_with_nothing_to_act_on_hits_no_content(body: str) -> None:
    assert "no-content" in hits(crafted(body=body))


def test_a_lone_calendar_or_attachment_is_content() -> None:
    invitation = crafted(
        "Content-Type: text/calendar; method=REQUEST; charset=utf-8",
        body="BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR",
    )
    attachment = crafted(
        'Content-Type: multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: application/pdf\r\n"
            'Content-Disposition: attachment; filename="avtal.pdf"\r\n\r\n%PDF-1.4\r\n--b--'
        ),
    )
    assert "no-content" not in hits(invitation)
    assert "no-content" not in hits(attachment)


# -- the table: all hits recorded, the first decides ----------------------------------------


def test_every_hit_is_recorded_in_table_order_and_the_first_decides() -> None:
    autoreply_from_ourselves = crafted(
        "From: Kollegan <acme.k3vq7xw2m4pa@kollegan.test>",
        "Auto-Submitted: auto-replied",
        body="",
    )
    verdict = vet(autoreply_from_ourselves, RuleContext(mail_from="<>", mail_domain=DOMAIN))
    assert verdict.hits == ("own-mail", "bounce", "auto-submitted", "no-content")
    assert verdict.refusal is not None
    assert verdict.refusal.name == "own-mail"
    assert not verdict.accepted


def test_the_order_of_the_table_not_of_the_checks_decides() -> None:
    message = crafted("Auto-Submitted: auto-replied", body="")
    reordered = tuple(sorted(RULES, key=lambda rule: rule.name != "no-content"))
    verdict = vet(message, RuleContext(mail_from="", mail_domain=DOMAIN), rules=reordered)
    assert verdict.hits == ("no-content", "bounce", "auto-submitted")
    assert verdict.refusal is not None
    assert verdict.refusal.name == "no-content"


def test_every_rule_runs_even_after_a_hit() -> None:
    seen: list[str] = []

    def recording(name: str, result: bool) -> Rule:
        def check(_message: ParsedMessage, _context: RuleContext) -> bool:
            seen.append(name)
            return result

        return Rule(name, name, check)

    rules = (recording("first", True), recording("second", False), recording("third", True))
    verdict = vet(crafted(), RuleContext(mail_from=PERSON, mail_domain=DOMAIN), rules=rules)
    assert seen == ["first", "second", "third"]
    assert verdict.hits == ("first", "third")
    assert verdict.refusal is rules[0]
