"""Recurring invitations end to end: iTIP mail over SMTP → the worker → meetings (one per
occurrence in the 60-day horizon) and their pre-briefs; CANCEL, updates, REPLY, the methods
that are only recorded, one meeting per meeting however many times it arrives, and the
horizon moving forward."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select

from calendar_sync.invitations import HORIZON, extend_horizons
from core.addresses import AgentAddress, new_token
from core.clock import FixedClock
from core.types import InboundStatus, MeetingStatus, OutboundStatus
from store import companies, inbound, meetings, outbound
from store.models import Agent, CalendarEvent, Meeting, OutboundMessage, Project
from tests.calendars import (
    ORGANIZER,
    STOCKHOLM,
    Series,
    calendar_of,
    cancel_occurrence,
    cancel_series,
    master_event,
    reply,
    request,
)
from tests.conftest import MAIL_DOMAIN, NOW
from tests.support import running_intake, settle

TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_series%40thread.v2/0"
FIRST = datetime(2026, 11, 26, 10, 0, tzinfo=STOCKHOLM)  # the Thursday after NOW
WEEK = timedelta(days=7)
SERIES = Series(
    uid="veckomote@acme.example",
    start=FIRST,
    duration=timedelta(hours=1),
    title="Veckomöte",
    rule={"freq": "WEEKLY"},
    dtstamp=NOW - timedelta(days=1),
    attendees=("erik@acme.example", "sara@partner.example"),
    join_url=TEAMS,
)
# Thursdays from 26 November to 21 January: the nine that start before NOW + 60 days
THURSDAYS = [FIRST + n * WEEK for n in range(9)]
ERIK = "erik@acme.example"  # an attendee, trusted: acme.example is the company's domain


def itip(to: str, calendar: bytes, method: str, *, sender: str = ORGANIZER, n: int = 0) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"{method}: Veckomöte"
    message["Date"] = format_datetime(NOW)
    message["Message-ID"] = f"<{method.lower()}-{n}@{sender.split('@')[1]}>"
    message.set_content("Veckomöte\n")
    message.add_alternative(
        calendar,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "utf-8"},
    )
    return message.as_bytes()


def deliver(app: Any, *mails: tuple[bytes, str, Sequence[str]]) -> None:
    """Send each (raw, MAIL FROM, RCPT TOs) over SMTP, letting the worker finish each."""
    with running_intake(app) as (host, port), smtplib.SMTP(host, port, timeout=10) as client:
        for raw, mail_from, rcpt_to in mails:
            client.sendmail(mail_from, list(rcpt_to), raw)
            settle(app)


def invite(app: Any, to: str, series: Series = SERIES, n: int = 0) -> None:
    deliver(app, (itip(to, request(series), "REQUEST", n=n), ORGANIZER, [to]))


def live_meetings(app: Any) -> list[Meeting]:
    with app.db.reader() as session:
        return [m for m in meetings.list_meetings(session) if m.status != MeetingStatus.CANCELLED]


def all_meetings(app: Any) -> list[Meeting]:
    with app.db.reader() as session:
        return list(meetings.list_meetings(session))


def briefs(app: Any) -> dict[int, OutboundMessage]:
    """Pre-briefs by meeting id (each meeting has at most one)."""
    with app.db.reader() as session:
        rows = outbound.list_outbound(session, kind="pre-brief")
    by_meeting = {r.meeting_id: r for r in rows if r.meeting_id is not None}
    assert len(by_meeting) == len(rows)
    return by_meeting


def calendar_events(app: Any) -> list[CalendarEvent]:
    with app.db.reader() as session:
        return list(session.execute(select(CalendarEvent).order_by(CalendarEvent.id)).scalars())


def local(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def test_a_weekly_series_is_one_meeting_per_occurrence_each_with_its_prebrief(
    app: Any, acme: str
) -> None:
    invite(app, acme)
    found = live_meetings(app)
    assert [local(m.start) for m in found] == [local(t) for t in THURSDAYS]
    assert all(m.start < NOW + HORIZON for m in found)
    assert len({m.recurrence_id for m in found}) == 9
    assert {(m.title, m.join_url, m.uid) for m in found} == {("Veckomöte", TEAMS, SERIES.uid)}
    planned = briefs(app)
    assert set(planned) == {m.id for m in found}
    for meeting in found:
        brief = planned[meeting.id]
        assert brief.status == OutboundStatus.SCHEDULED
        assert brief.send_at == meeting.start - timedelta(hours=24)
        assert brief.recipients == [ORGANIZER]
    assert len({b.message_id for b in planned.values()}) == 9


def test_cancel_of_one_occurrence_cancels_that_meeting_and_its_prebrief(
    app: Any, acme: str
) -> None:
    invite(app, acme)
    gone = THURSDAYS[2]
    deliver(app, (itip(acme, cancel_occurrence(SERIES, gone), "CANCEL"), ORGANIZER, [acme]))
    rows = all_meetings(app)
    assert len(rows) == 9
    cancelled = [m for m in rows if m.status == MeetingStatus.CANCELLED]
    assert [local(m.start) for m in cancelled] == [local(gone)]
    planned = briefs(app)
    assert planned[cancelled[0].id].status == OutboundStatus.CANCELLED
    assert [b.status for i, b in planned.items() if i != cancelled[0].id] == [
        OutboundStatus.SCHEDULED
    ] * 8


def test_cancel_of_the_series_cancels_what_is_to_come_and_keeps_the_past(
    app: Any, acme: str, clock: FixedClock
) -> None:
    invite(app, acme)
    clock.advance(timedelta(days=15))  # 10 December 08:00 UTC: two Thursdays have passed
    cancel = cancel_series(SERIES, sequence=1)
    deliver(app, (itip(acme, cancel, "CANCEL"), ORGANIZER, [acme]))
    rows = all_meetings(app)
    assert len(rows) == 9
    past = [m for m in rows if m.start < clock.now() - timedelta(hours=12)]
    assert [local(m.start) for m in past] == [local(t) for t in THURSDAYS[:2]]
    assert {m.status for m in past} == {MeetingStatus.SCHEDULED}
    to_come = [m for m in rows if m not in past]
    assert {m.status for m in to_come} == {MeetingStatus.CANCELLED}
    planned = briefs(app)
    assert {planned[m.id].status for m in to_come} == {OutboundStatus.CANCELLED}
    [event] = [e for e in calendar_events(app) if e.method == "CANCEL"]
    assert event.outcome == "cancelled"


def test_an_update_moves_the_meetings_and_their_prebriefs_and_a_stale_one_changes_nothing(
    app: Any, acme: str
) -> None:
    invite(app, acme)
    before = {m.recurrence_id: m.id for m in live_meetings(app)}
    planned_before = {m: b.id for m, b in briefs(app).items()}
    moved = replace(SERIES, start=FIRST + timedelta(hours=1), sequence=1, dtstamp=NOW)
    stale = replace(SERIES, start=FIRST + timedelta(hours=3), dtstamp=NOW - timedelta(days=2))
    deliver(
        app,
        (itip(acme, request(moved), "REQUEST", n=1), ORGANIZER, [acme]),
        (itip(acme, request(stale), "REQUEST", n=2), ORGANIZER, [acme]),  # arrives late
    )
    rows = all_meetings(app)
    assert [local(m.start) for m in rows] == [local(t + timedelta(hours=1)) for t in THURSDAYS]
    assert {m.status for m in rows} == {MeetingStatus.SCHEDULED}
    assert sorted(m.id for m in rows) == sorted(before.values())  # the same meetings, moved
    assert {m.sequence for m in rows} == {1}
    planned = briefs(app)
    assert {m: b.id for m, b in planned.items()} == planned_before  # the same pre-briefs
    for meeting in rows:
        assert planned[meeting.id].status == OutboundStatus.SCHEDULED
        assert planned[meeting.id].send_at == meeting.start - timedelta(hours=24)
    outcomes = [(e.sequence, e.outcome) for e in calendar_events(app)]
    assert outcomes == [(0, "applied"), (1, "applied"), (0, "stale")]
    with app.db.reader() as session:
        [late, *_] = inbound.list_inbound(session)  # newest first
    assert late.status == InboundStatus.PROCESSED
    assert "stale" in (late.reason or "")


def partstats(app: Any, email: str) -> list[str]:
    return [next(a.partstat for a in m.attendees if a.email == email) for m in live_meetings(app)]


def test_replies_set_the_attendees_partstat_and_only_from_that_attendee(
    app: Any, acme: str
) -> None:
    invite(app, acme)
    erik = "erik@acme.example"
    deliver(
        app,
        (itip(acme, reply(SERIES, erik, "ACCEPTED"), "REPLY", sender=erik), erik, [acme]),
        (
            itip(
                acme,
                reply(SERIES, erik, "DECLINED", THURSDAYS[3]),
                "REPLY",
                sender=erik,
                n=1,
            ),
            erik,
            [acme],
        ),
        # someone else answering for Erik is not Erik's answer
        (
            itip(
                acme,
                reply(SERIES, erik, "DECLINED"),
                "REPLY",
                sender="sara@partner.example",
                n=2,
            ),
            "sara@partner.example",
            [acme],
        ),
    )
    assert partstats(app, erik) == ["ACCEPTED"] * 3 + ["DECLINED"] + ["ACCEPTED"] * 5
    assert set(partstats(app, "sara@partner.example")) == {"NEEDS-ACTION"}
    replies = [(e.sender, e.outcome) for e in calendar_events(app) if e.method == "REPLY"]
    assert replies == [(erik, "applied"), (erik, "applied"), ("sara@partner.example", "ignored")]


def _method(method: str, *, dtstart: bool = True, extra: dict[str, Any] | None = None) -> bytes:
    event = master_event(replace(SERIES, extra=extra or {}))
    if not dtstart:
        for name in ("DTSTART", "DTEND", "RRULE", "SUMMARY"):
            event.pop(name)
    return calendar_of([event], method, vtimezone=dtstart)


@pytest.mark.parametrize(
    ("method", "sender", "calendar"),
    [
        ("COUNTER", "erik@acme.example", _method("COUNTER", extra={"comment": "Fredag?"})),
        ("DECLINECOUNTER", ORGANIZER, _method("DECLINECOUNTER")),
        ("REFRESH", "erik@acme.example", _method("REFRESH", dtstart=False)),
        (
            "ADD",
            ORGANIZER,
            _method("ADD", extra={"rdate": datetime(2026, 12, 1, 10, tzinfo=STOCKHOLM)}),
        ),
        ("PUBLISH", ORGANIZER, _method("PUBLISH")),
    ],
)
def test_methods_that_are_only_recorded_change_nothing(
    app: Any, acme: str, method: str, sender: str, calendar: bytes
) -> None:
    invite(app, acme)

    def state() -> list[tuple[Any, ...]]:
        return [
            (m.id, m.start, m.end, m.title, m.status, m.sequence, [a.partstat for a in m.attendees])
            for m in all_meetings(app)
        ]

    before, planned = state(), briefs(app)
    deliver(app, (itip(acme, calendar, method, sender=sender), sender, [acme]))
    assert state() == before
    assert {k: (b.status, b.send_at) for k, b in briefs(app).items()} == {
        k: (b.status, b.send_at) for k, b in planned.items()
    }
    last = calendar_events(app)[-1]
    assert (last.method, last.outcome, last.sender) == (method, "recorded", sender)
    with app.db.reader() as session:
        [row, *_] = inbound.list_inbound(session)
    assert row.status == InboundStatus.PROCESSED
    assert f"{method} recorded" in (row.reason or "")


def second_address(app: Any) -> str:
    """A project agent of the same company: another magic address."""
    with app.db.session() as session:
        company = companies.get_company_by_slug(session, "acme")
        project = Project(company_id=company.id, slug="bygg", name="Bygget", created_at=NOW)
        session.add(project)
        session.flush()
        agent = Agent(company_id=company.id, slug="bygg", token=new_token(), created_at=NOW)
        agent.project_id = project.id
        session.add(agent)
        session.flush()
        return AgentAddress(agent.slug, agent.token).render(MAIL_DOMAIN)


def test_one_meeting_however_many_ways_the_invitation_arrives(app: Any, acme: str) -> None:
    project = second_address(app)
    erik = "erik@acme.example"
    raw = itip(acme, request(SERIES), "REQUEST")
    forwarded = itip(project, request(SERIES), "REQUEST", sender=erik, n=1)
    deliver(
        app,
        (raw, ORGANIZER, [acme, project]),  # both of the company's addresses on one invitation
        (forwarded, erik, [project]),  # and an attendee sends it on too
    )
    with app.db.reader() as session:
        rows = inbound.list_inbound(session)
    assert len(rows) == 3
    assert {r.status for r in rows} == {InboundStatus.PROCESSED}
    assert len(all_meetings(app)) == 9
    assert len(briefs(app)) == 9
    assert [e.outcome for e in calendar_events(app)] == ["applied", "unchanged", "unchanged"]


def test_the_same_meeting_under_another_uid_is_one_meeting(app: Any, acme: str) -> None:
    """Two of the company's people invite the agent to the same Teams meeting at the same
    time under different UIDs (a copy in another client, forwarded by an attendee)."""
    single = replace(SERIES, uid="styrgrupp@acme.example", rule=None)
    copy = replace(single, uid="040000008200E00074C5B7101A82E0080000000012345@outlook")
    deliver(
        app,
        (itip(acme, request(single), "REQUEST"), ORGANIZER, [acme]),
        (itip(acme, request(copy), "REQUEST", sender=ERIK, n=1), ERIK, [acme]),
    )
    [meeting] = all_meetings(app)
    assert meeting.uid == single.uid
    assert [e.outcome for e in calendar_events(app)] == ["applied", "duplicate"]


def test_the_same_series_under_another_uid_is_one_series_also_once_it_has_begun(
    app: Any, acme: str
) -> None:
    """The twin is found by the occurrences that exist, not by a first start long past."""
    begun = replace(SERIES, start=FIRST - 10 * WEEK)
    copy = replace(begun, uid="040000008200E00074C5B7101A82E0080000000099999@outlook")
    deliver(
        app,
        (itip(acme, request(begun), "REQUEST"), ORGANIZER, [acme]),
        (itip(acme, request(copy), "REQUEST", sender=ERIK, n=1), ERIK, [acme]),
    )
    assert {m.uid for m in all_meetings(app)} == {SERIES.uid}
    assert [e.outcome for e in calendar_events(app)] == ["applied", "duplicate"]


def test_the_horizon_moves_forward(app: Any, acme: str) -> None:
    invite(app, acme)
    later = NOW + timedelta(days=30)
    with app.db.session() as session:
        changes = extend_horizons(session, later, "Europe/Stockholm")
    assert [c.change.value for c in changes].count("created") == 4
    found = live_meetings(app)
    assert [local(m.start) for m in found] == [local(FIRST + n * WEEK) for n in range(13)]
    assert found[-1].start < later + HORIZON <= found[-1].start + WEEK
    with app.db.session() as session:  # the same day again: nothing to do
        assert extend_horizons(session, later, "Europe/Stockholm") == []
    assert len(all_meetings(app)) == 13
    assert all(m.start >= NOW - timedelta(hours=12) for m in found)
    assert found[0].start.tzinfo is not None
    assert found[0].start == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
