"""A meeting's page behind the link in the agent's acceptance: what it shows in Swedish and
English, and its button that removes Kollegan from the meeting."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from core.links import MEETING_PAGE_TTL
from core.types import MeetingStatus, OutboundStatus
from store import meetings, outbound
from store.models import CalendarEvent
from tests.conftest import NOW
from tests.support import text_body
from tests.test_imip_reply import ANNA, own_invitation, weekly_series
from tests.trust_support import deliver, mails


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app.web_app()) as test_client:
        yield test_client


def page_path(app: Any) -> str:
    """The meeting page's path, from the acceptance the organizer got."""
    [mail] = mails(app, "imip-reply")
    url = next(w for w in text_body(mail).split() if "/m/" in w)
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def path(app: Any, acme: str) -> str:
    deliver(app, acme, own_invitation(acme), mail_from=ANNA)  # three days ahead
    return page_path(app)


def statuses(app: Any) -> tuple[list[str], list[str]]:
    with app.db.reader() as session:
        held = [m.status for m in meetings.list_meetings(session)]
        briefs = [r.status for r in outbound.list_outbound(session, kind="pre-brief")]
    return held, briefs


def test_the_page_shows_the_meeting_in_swedish(app: Any, path: str, client: TestClient) -> None:
    page = client.get(path)

    assert page.status_code == 200
    assert page.headers["content-language"] == "sv"
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert '<html lang="sv">' in text
    assert "<h1>Styrgrupp</h1>" in text
    assert "lördag 28 november 2026 kl. 09:00–09:45 (Europe/Stockholm)" in text
    assert "Anna Berg &lt;anna@acme.example&gt;" in text
    assert "Erik Lind &lt;erik@acme.example&gt;" in text
    assert "@kollegan.test" not in text  # the agent is not listed among the attendees
    assert "Samtyckesnivå: <strong>Bas</strong> – endast anteckningar." in text
    assert "Ta bort Kollegan från mötet</button>" in text
    assert "raderas inte ännu" in text  # no promise of deletion that is not built
    assert statuses(app) == (["scheduled"], ["scheduled"])  # looking changes nothing


@pytest.mark.parametrize(
    ("params", "headers"), [({"lang": "en"}, {}), ({}, {"Accept-Language": "en-GB,en;q=0.8"})]
)
def test_the_page_in_english(
    path: str, client: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    text = client.get(path, params=params, headers=headers).text
    assert '<html lang="en">' in text
    assert "Saturday 28 November 2026, 09:00–09:45 (Europe/Stockholm)" in text
    assert "Consent level: <strong>Bas</strong> – notes only." in text
    assert "Remove Kollegan from this meeting</button>" in text
    assert "not deleted yet" in text


def test_removing_kollegan_cancels_the_meeting_and_its_unsent_mail(
    app: Any, acme: str, path: str, client: TestClient
) -> None:
    assert statuses(app) == (["scheduled"], ["scheduled"])

    page = client.post(path)

    assert page.status_code == 200
    assert "Kollegan är borttagen från mötet" in page.text
    assert "Ta bort Kollegan från mötet</button>" not in page.text
    assert statuses(app) == (["cancelled"], ["cancelled"])
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        assert meeting.series_id is not None
        series = meetings.get_series(session, meeting.series_id)
        assert series.withdrawn_at == NOW
        [event] = session.execute(
            select(CalendarEvent).where(CalendarEvent.method == "WITHDRAW")
        ).scalars()
        assert event.outcome == "withdrawn"

    # the organizer's next update does not bring Kollegan back
    update = own_invitation(acme, sequence=1, message_id="<styrgrupp-2@acme.example>")
    deliver(app, acme, update, mail_from=ANNA)
    assert statuses(app) == (["cancelled"], ["cancelled"])
    assert client.post(path).status_code == 200  # a second click changes nothing
    assert "Kollegan är borttagen från mötet" in client.get(path).text


def test_removing_kollegan_from_a_series_cancels_every_coming_meeting(
    app: Any, acme: str, client: TestClient
) -> None:
    deliver(app, acme, weekly_series(acme), mail_from=ANNA)
    text = client.get(page_path(app)).text
    assert "återkommande" in text and "alla kommande möten i serien" in text

    client.post(page_path(app))

    held, briefs = statuses(app)
    assert len(held) == 6 and set(held) == {MeetingStatus.CANCELLED}
    assert OutboundStatus.SCHEDULED not in briefs


def test_a_forged_or_expired_meeting_link_changes_nothing(
    app: Any, path: str, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = path[:-2] + ("xx" if not path.endswith("xx") else "yy")
    with caplog.at_level(logging.WARNING, logger="web.meeting_page"):
        assert client.post(forged).status_code == 404
        app.clock.advance(MEETING_PAGE_TTL + timedelta(seconds=1))
        expired = client.post(path)
    assert expired.status_code == 410
    assert "Länken har gått ut" in expired.text
    assert caplog.messages == [
        "meeting link refused: the signature does not verify",
        "meeting link refused: expired",
    ]
    assert statuses(app)[0] == ["scheduled"]
