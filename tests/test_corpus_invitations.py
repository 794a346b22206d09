"""Real invitations written by others (read in place from ../shared/corpus/imip-eml/) go through
the whole pipeline: stored, processed, a meeting with the right UTC start, a pre-brief planned.

Inline text/calendar parts, .ics attachments (application/ics too), Outlook's Windows zone
names, Teams, Google Meet and Zoom links. The full iMIP conformance check is the next issue's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from huey import MemoryHuey

from core.clock import FixedClock
from core.types import InboundStatus, OutboundStatus, Source
from inbox.ingest import accept
from inbox.parse import parse_message
from kollegan.app import App, build_app
from scheduler.tasks import run_process_inbound
from store import inbound, meetings, outbound
from store.db import Database
from tests.conftest import CORPUS as SHARED_CORPUS
from tests.conftest import make_settings
from tests.support import create_company

CORPUS = SHARED_CORPUS / "imip-eml"

CASES = [
    # file, title, UTC start, stored zone, join link (prefix)
    ("tb_single-event_request.eml", "Single Event", "2022-03-16T11:00:00+00:00", "UTC", None),
    (
        "nc_request_application_ics.eml",
        "Imip Testing",
        "2025-02-20T18:00:00+00:00",
        "Europe/Berlin",
        None,
    ),
    (
        "bm_lmtp_google_attachment.eml",
        "just a test",
        "2023-06-10T12:00:00+00:00",
        "Europe/Berlin",
        "https://meet.google.com/igd-guto-ask",
    ),
    (
        "tb_outlook-invite_fle-standard-time.eml",
        "Testaus",
        "2021-11-27T07:00:00+00:00",
        "Europe/Kiev",
        None,
    ),
    (
        "tb_outlook-teams-meeting-invite_fi.eml",
        "Teams meeting",
        "2020-12-02T17:00:00+00:00",
        "Europe/Kiev",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_MGU5",
    ),
    (
        "tb_google-meet-invite.eml",
        "Meeeeet me HTML",
        "2021-03-22T09:30:00+00:00",
        "UTC",
        "https://meet.google.com/pyb-ndcu-hhc",
    ),
    (
        "bm_zoom.vtimezone.eml",
        "Table de travail - axe administratif",
        "2020-09-17T17:30:00+00:00",
        None,
        "https://urgences-sante.zoom.us/j/99542199327",
    ),
    (
        "bm_outlook-teams-invite.eml",
        "invit teams from 365",
        "2021-04-02T13:30:00+00:00",
        "Europe/Paris",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NDg4",
    ),
]


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing: {CORPUS}")
    return CORPUS


@pytest.fixture
def app_at(tmp_path: Path, sqlite_db: Database) -> Iterator[Any]:
    apps: list[App] = []

    def make(now: datetime) -> App:
        app = build_app(
            make_settings(tmp_path, sqlite_db), clock=FixedClock(now), huey=MemoryHuey()
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.mark.parametrize(("name", "title", "start", "zone", "join"), CASES)
def test_real_invitation_becomes_a_meeting(
    corpus: Path,
    app_at: Any,
    name: str,
    title: str,
    start: str,
    zone: str | None,
    join: str | None,
) -> None:
    starts = datetime.fromisoformat(start)
    app = app_at(starts - timedelta(days=2))  # two days ahead: the pre-brief waits
    raw = (corpus / name).read_bytes()
    # the sender writes from one of the company's verified domains: trusted, not held
    sender_domain = parse_message(raw).from_domain or "acme.example"
    address = create_company(app, domains=("acme.example", sender_domain))
    resolved = app.resolver.resolve(address)
    assert resolved is not None
    stored = accept(
        app.db,
        raw,
        mail_from="organizer@example.org",
        recipients=[resolved],
        source=Source.CLI,
        now=app.clock.now,
    )
    run_process_inbound(app.tasks.ctx, stored.ids[0])

    with app.db.reader() as session:
        row = inbound.get_inbound(session, stored.ids[0])
        assert row.status == InboundStatus.PROCESSED, (row.reason, row.error)
        found = meetings.list_meetings(session)  # a recurring series: one per occurrence
        meeting = found[0]
        assert meeting.title == title
        assert meeting.start == starts
        if zone is not None:
            assert meeting.timezone == zone
        if join is None:
            assert meeting.join_url is None
        else:
            assert (meeting.join_url or "").startswith(join)
        briefs = {b.meeting_id: b for b in outbound.list_outbound(session, kind="pre-brief")}
        assert set(briefs) == {m.id for m in found}  # every occurrence has its pre-brief
        brief = briefs[meeting.id]
        assert brief.kind == "pre-brief"
        assert brief.status == OutboundStatus.SCHEDULED
        assert brief.send_at == starts - timedelta(hours=24)
        assert brief.recipients == [meeting.organizer_email]
