"""A meeting's live status and the agent's attempts to attach (with a controllable clock)."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from typing import Any

import pytest

from agent.connectors import AttachResult, MeetingView, RecordingConnector
from agent.lifecycle import LOBBY_LEAD, POST_PROCESSING, next_status, status_at
from core.types import MeetingStatus
from kollegan.app import App
from kollegan.samples import sample_invitation
from scheduler.tasks import run_deliver_due, run_jobs
from store import meetings, outbound
from store.models import AttachAttempt
from tests.conftest import NOW
from tests.support import maildir_messages, running_intake, settle, text_body

START = NOW + timedelta(hours=2)
END = START + timedelta(minutes=45)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (START - timedelta(hours=1), MeetingStatus.SCHEDULED),
        (START - LOBBY_LEAD, MeetingStatus.LOBBY),
        (START, MeetingStatus.ACTIVE),
        (END - timedelta(seconds=1), MeetingStatus.ACTIVE),
        (END, MeetingStatus.POST_PROCESSING),
        (END + POST_PROCESSING, MeetingStatus.DONE),
    ],
)
def test_status_follows_the_clock(at: datetime, expected: MeetingStatus) -> None:
    assert status_at(START, END, at) == expected


def test_status_only_moves_forward_and_cancelled_stays() -> None:
    assert next_status("active", START, END, START - timedelta(hours=1)) == MeetingStatus.ACTIVE
    assert next_status("cancelled", START, END, END) == MeetingStatus.CANCELLED
    assert next_status("done", START, END, START) == MeetingStatus.DONE
    assert next_status("scheduled", START, END, END + timedelta(days=3)) == MeetingStatus.DONE


class SecondTimeLucky:
    name = "second-time-lucky"

    def attach(self, meeting: MeetingView, attempt: int) -> AttachResult:
        return AttachResult(attempt >= 2, f"try {attempt}")


def _invite(app: App, acme: str) -> int:
    raw = sample_invitation(
        to=acme,
        organizer="anna@acme.example",
        organizer_name="Anna Berg",
        attendees=[("erik@acme.example", "Erik")],
        title="Styrgrupp",
        start=START,
        duration=END - START,
        uid="life-1@acme.example",
        now=NOW,
        message_id="<life-1@acme.example>",
        join_url="https://teams.microsoft.com/l/meetup-join/19%3alife",
    )
    with running_intake(app) as (host, port), smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("anna@acme.example", [acme], raw)
        settle(app)
    with app.db.reader() as session:
        [meeting] = meetings.list_meetings(session)
        return meeting.id


def _tick(app: App, at: datetime) -> Any:
    app.clock.set(at)  # type: ignore[attr-defined]
    run_jobs(app.tasks.ctx)
    run_deliver_due(app.tasks.ctx)
    with app.db.reader() as session:
        return meetings.get_meeting(session, app.extra["meeting_id"])


def test_three_failed_attaches_downgrade_and_ask_for_the_notes(app: App, acme: str) -> None:
    app.extra["meeting_id"] = meeting_id = _invite(app, acme)
    assert _tick(app, START - timedelta(hours=1)).status == "scheduled"
    assert _tick(app, START - timedelta(minutes=3)).status == "lobby"
    meeting = _tick(app, START)
    assert (meeting.status, meeting.attach_attempts) == ("active", 1)
    assert _tick(app, START + timedelta(seconds=30)).attach_attempts == 1  # retry not yet due
    assert _tick(app, START + timedelta(minutes=1)).attach_attempts == 2
    meeting = _tick(app, START + timedelta(minutes=2))
    assert (meeting.attach_attempts, meeting.mode) == (3, "after-the-fact")
    assert _tick(app, START + timedelta(minutes=10)).attach_attempts == 3  # no fourth try
    with app.db.reader() as session:
        attempts = session.query(AttachAttempt).filter_by(meeting_id=meeting_id).all()
        assert [(a.attempt, a.attached, a.connector) for a in attempts] == [
            (1, False, "recording"),
            (2, False, "recording"),
            (3, False, "recording"),
        ]
        [request] = outbound.list_outbound(session, kind="notes-request")
        assert request.status == "sent" and request.recipients == ["anna@acme.example"]
    notes_mail = [
        m
        for m in maildir_messages(app.settings.maildir_path)
        if m["X-Kollegan-Kind"] == "notes-request"
    ]
    assert len(notes_mail) == 1
    assert "Skicka mig anteckningarna eller transkriberingen" in text_body(notes_mail[0])
    assert _tick(app, END).status == "post-processing"
    assert _tick(app, END + POST_PROCESSING).status == "done"


def test_a_connector_that_attaches_keeps_the_meeting_live(
    settings: Any, clock: Any, acme_with_connector: tuple[App, str]
) -> None:
    app, acme = acme_with_connector
    app.extra["meeting_id"] = _invite(app, acme)
    _tick(app, START)
    meeting = _tick(app, START + timedelta(minutes=1))
    assert (meeting.attach_attempts, meeting.mode) == (2, "live")
    assert meeting.attached_at == START + timedelta(minutes=1)
    assert _tick(app, START + timedelta(minutes=5)).attach_attempts == 2
    with app.db.reader() as session:
        assert outbound.list_outbound(session, kind="notes-request") == []


def test_cancelled_meetings_are_not_attended(app: App, acme: str) -> None:
    app.extra["meeting_id"] = meeting_id = _invite(app, acme)
    with app.db.session() as session:
        meetings.get_meeting(session, meeting_id).status = "cancelled"
    meeting = _tick(app, START + timedelta(minutes=5))
    assert (meeting.status, meeting.attach_attempts) == ("cancelled", 0)


def test_the_recording_connector_records_and_declines() -> None:
    connector = RecordingConnector()
    view = MeetingView(7, "Styrgrupp", START, None)
    assert connector.attach(view, 1) == AttachResult(
        False, "no live transcript source for no join link yet"
    )
    assert connector.attempts == [(7, 1)]


@pytest.fixture
def acme_with_connector(settings: Any, clock: Any) -> Any:
    from huey import MemoryHuey

    from kollegan.app import build_app
    from tests.support import create_company

    application = build_app(
        settings, clock=clock, huey=MemoryHuey(immediate=True), connector=SecondTimeLucky()
    )
    yield application, create_company(application)
    application.close()
