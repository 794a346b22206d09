"""The approval request and the agent's acceptance as rendered, in Swedish and English
(snapshots: KOLLEGAN_TEST_UPDATE_SNAPSHOTS=1 rewrites them — review the diff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent.approval_request import AskedAbout, HeldMessage, admins_locale, approval_context
from core.links import APPROVAL_TTL, Links
from core.signing import TokenSigner
from outbox.render import Renderer
from store.models import Company, User
from tests.conftest import MAIL_DOMAIN, NOW, SECRET
from tests.support import assert_snapshot

LINKS = Links("https://kollegan.example.com", MAIL_DOMAIN, TokenSigner(SECRET))
COMPANY = Company(name="Acme AB", slug="acme", locale="sv", timezone="Europe/Stockholm")


def approval_mail_context() -> dict[str, Any]:
    held = HeldMessage(
        approval_id=7,
        sender="eve@other.example",
        sender_name="Eve <Extern>",
        forwarded=True,
        original_from="cecilia@partner.example",
        subject="VB: Projektmöte Q1 & budget",
        meetings=[
            AskedAbout(
                "Projektmöte Q1 & budget",
                datetime(2027, 1, 12, 12, 0, tzinfo=UTC),
                "cecilia@partner.example",
                "Cecilia Carlsson",
            ),
            AskedAbout("", None, None, None),
        ],
    )
    expires_at = NOW + APPROVAL_TTL
    context = approval_context(held, COMPANY, ["anna@acme.example", "bo@acme.example"], expires_at)
    return context | {
        "approve_url": LINKS.approval_page(7, "approve", expires_at=expires_at),
        "refuse_url": LINKS.approval_page(7, "refuse", expires_at=expires_at),
        "reply_address": LINKS.approval_reply_address(7, expires_at=expires_at),
    }


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_the_approval_request_matches_its_snapshots(locale: str) -> None:
    mail = Renderer().render("approval-request", locale, approval_mail_context())
    assert "Eve &lt;Extern&gt; &lt;eve@other.example&gt;" in mail.html  # escaped
    assert "Eve <Extern> <eve@other.example>" in mail.text
    assert_snapshot(f"approval-request.{locale}.subject", mail.subject + "\n")
    assert_snapshot(f"approval-request.{locale}.txt", mail.text)
    assert_snapshot(f"approval-request.{locale}.html", mail.html)


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_the_acceptance_matches_its_snapshots(locale: str) -> None:
    url = LINKS.meeting_page(3, now=NOW)
    context: dict[str, Any] = {
        "title": "Styrgrupp <Q4> & budget",
        "start": datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
        "all_day": False,
        "zone": "Europe/Stockholm",
        "recurring": False,
        "company": "Acme AB",
        "reader": {"name": "Anna Berg", "email": "anna@acme.example"},
        "meeting_url": url,
    }
    renderer = Renderer()
    mail = renderer.render("imip-reply", locale, context)
    comment = renderer.render_part("imip-reply", locale, "comment", context)
    assert url in comment
    assert_snapshot(f"imip-reply.{locale}.subject", mail.subject + "\n")
    assert_snapshot(f"imip-reply.{locale}.txt", mail.text)
    assert_snapshot(f"imip-reply.{locale}.html", mail.html)
    assert_snapshot(f"imip-reply.{locale}.comment", comment + "\n")


@pytest.mark.parametrize(
    ("locales", "expected"),
    [
        (["en"], "en"),
        (["en", "en"], "en"),
        (["en", "sv"], "sv"),  # mixed: Swedish, the default
        ([None], "sv"),  # unknown: the company's language
        ([None, "en"], "sv"),
    ],
)
def test_the_request_is_in_the_admins_language_when_they_share_one(
    locales: list[str | None], expected: str
) -> None:
    admins = [User(email=f"a{n}@acme.example", locale=loc) for n, loc in enumerate(locales)]
    assert admins_locale(admins, COMPANY, "sv") == expected
