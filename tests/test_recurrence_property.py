"""The issue's acceptance line: for random recurring series with exceptions, the occurrences
the agent plans equal those recurring-ical-events expands, across the DST changes in
Europe/Stockholm (2027-03-28: 02:00 → 03:00; 2027-10-31: 03:00 → 02:00).

Each example is a series written with ``icalendar`` as a client would (DTSTART;TZID, often at
a wall-clock time that does not exist or exists twice; DAILY/WEEKLY/MONTHLY with INTERVAL,
BYDAY, COUNT or UNTIL; EXDATEs at exact occurrence times, with TZID or in UTC; overrides that
move an occurrence and rename it, maybe one cancelled). It goes the agent's real way —
:func:`calendar_sync.invitations.apply_invitation` into the store, SQLite and PostgreSQL — and
the store's live meetings for the UID must be exactly the library's expansion of the same
bytes over the same window. Then the organizer moves the whole series by an hour (a higher
SEQUENCE) and cancels one occurrence; after each the store must equal the library's expansion
of the calendar the organizer now has.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.invitations import HORIZON, LOOKBACK, InvitationSource, apply_invitation
from core.types import MeetingStatus
from store import companies
from store.db import Database
from store.models import Meeting
from tests.calendars import (
    STOCKHOLM,
    Occurrence,
    Override,
    Series,
    cancel_occurrence,
    library_occurrences,
    request,
    rule_instants,
    utc_key,
    wall_shift,
)

DST_DAYS = (date(2027, 3, 28), date(2027, 10, 31))
# Wall-clock times around the changes: 02:30 does not exist on 28 March, and exists twice on
# 31 October; 02:00 and 03:00 are the edges; 01:30 moved by an hour lands in the gap.
TRICKY_TIMES = (time(2, 30), time(2, 0), time(3, 0), time(1, 30), time(2, 59), time(23, 30))
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
UID = "series-1@acme.example"


@pytest.fixture
def company(db: Database) -> tuple[int, int]:
    with db.session() as session:
        row, agent = companies.create_company(
            session,
            name="Acme AB",
            slug="acme",
            domains=["acme.example"],
            admin_email="anna@acme.example",
            token="k3vq7xw2m4pa",
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        return row.id, agent.id


@st.composite
def rules(draw: st.DrawFn, start: datetime) -> dict[str, object]:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    rule: dict[str, object] = {"freq": freq}
    interval = draw(st.integers(1, 3))
    if interval > 1:
        rule["interval"] = interval
    if freq == "WEEKLY" and draw(st.booleans()):
        rule["byday"] = list(draw(st.permutations(WEEKDAYS))[: draw(st.integers(1, 3))])
    if freq == "MONTHLY" and draw(st.booleans()):
        # the last Sunday of the month is the day the clocks change
        rule["byday"] = [draw(st.sampled_from(["-1SU", "1MO", "2WE", "-1FR"]))]
    end = draw(st.sampled_from(["count", "until", "forever"]))
    if end == "count":
        rule["count"] = draw(st.integers(1, 25))
    elif end == "until":
        rule["until"] = start.astimezone(UTC) + timedelta(
            days=draw(st.integers(0, 120)), hours=draw(st.sampled_from([0, 0, 1, -1]))
        )
    return rule


@st.composite
def series_and_now(draw: st.DrawFn) -> tuple[Series, datetime]:
    day = draw(st.sampled_from(DST_DAYS)) + timedelta(days=draw(st.integers(-12, 3)))
    clock = draw(
        st.one_of(
            st.sampled_from(TRICKY_TIMES),
            st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
        )
    )
    start = datetime.combine(day, clock, tzinfo=STOCKHOLM)
    # the agent's clock: the series may begin in two weeks or have begun two days ago
    now = start.astimezone(UTC) + timedelta(
        days=draw(st.integers(-14, 2)), minutes=15 * draw(st.integers(0, 4 * 24 - 1))
    )
    series = Series(
        uid=UID,
        start=start,
        duration=timedelta(minutes=draw(st.sampled_from([0, 30, 45, 60, 90, 180]))),
        title="Veckomöte",
        rule=draw(rules(start)),
        vtimezone=draw(st.booleans()),
    )
    instants = rule_instants(series, start, now + HORIZON + timedelta(days=7))
    if instants:
        picks = st.sampled_from(instants)
        exdates = draw(st.lists(picks, max_size=3, unique=True))
        moved = draw(st.lists(picks, max_size=3, unique=True))
        cancelled = draw(st.sampled_from([None, *range(len(moved))]))
        overrides = tuple(
            Override(
                recurrence=original,
                start=original + timedelta(minutes=15 * draw(st.integers(-300, 300))),
                duration=timedelta(minutes=draw(st.sampled_from([0, 30, 60, 120]))),
                title=f"Flyttat {n}",
                cancelled=n == cancelled,
                utc_recurrence_id=draw(st.booleans()),
            )
            for n, original in enumerate(moved)
        )
        series = replace(
            series,
            exdates=tuple(exdates),
            utc_exdates=draw(st.booleans()),
            overrides=overrides,
        )
    return series, now


def _stored(session: Session, company_id: int) -> set[Occurrence]:
    rows = session.execute(
        select(Meeting).where(
            Meeting.company_id == company_id,
            Meeting.uid == UID,
            Meeting.status != MeetingStatus.CANCELLED.value,
        )
    ).scalars()
    return {
        (m.recurrence_id, m.start.astimezone(UTC), m.end.astimezone(UTC), m.title) for m in rows
    }


def _label(series: Series, expected: set[Occurrence], window: tuple[datetime, datetime]) -> None:
    """What the examples covered (``--hypothesis-show-statistics``)."""
    count = len(expected)
    event(f"meetings in the window: {count if count < 10 else '10 or more'}")
    crossed = any(window[0].date() <= day <= window[1].date() for day in DST_DAYS)
    event(f"a DST change in the window: {crossed}")
    event(f"starts at a tricky wall-clock time: {series.start.time() in TRICKY_TIMES}")
    event(f"overrides: {len(series.overrides)}, EXDATEs: {len(series.exdates)}")


def _moved_by_an_hour(series: Series, resend_overrides: bool) -> Series:
    """The organizer moves the whole series an hour later (wall clock): a new SEQUENCE; the
    exceptions move with it, or are dropped (Outlook asks which)."""
    sequence = max([series.sequence, *(o.sequence for o in series.overrides)]) + 1
    hour = timedelta(hours=1)
    rule = dict(series.rule or {})
    if "until" in rule:
        rule["until"] = rule["until"] + hour
    overrides = tuple(
        replace(
            o,
            recurrence=wall_shift(o.recurrence, hour),
            start=wall_shift(o.start, hour),
            sequence=sequence,
        )
        for o in series.overrides
        if resend_overrides
    )
    return replace(
        series,
        start=wall_shift(series.start, hour),
        rule=rule,
        exdates=tuple(wall_shift(e, hour) for e in series.exdates) if resend_overrides else (),
        overrides=overrides,
        sequence=sequence,
        dtstamp=series.dtstamp + timedelta(days=1),
    )


def _without(series: Series, recurrence: datetime) -> Series:
    """The organizer's calendar after cancelling one occurrence: an EXDATE, no override."""
    return replace(
        series,
        exdates=(*series.exdates, recurrence),
        overrides=tuple(
            o for o in series.overrides if utc_key(o.recurrence) != utc_key(recurrence)
        ),
    )


@settings(
    max_examples=50,
    deadline=None,
    # the store is rolled back after every example; the company row is the fixture's
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(example=series_and_now(), data=st.data())
def test_planned_occurrences_equal_the_library_expansion(
    db: Database,
    company: tuple[int, int],
    example: tuple[Series, datetime],
    data: st.DataObject,
) -> None:
    series, now = example
    company_id, agent_id = company
    source = InvitationSource(company_id, agent_id, None, None, "anna@acme.example")
    window = (now - LOOKBACK, now + HORIZON)
    with Session(db.engine) as session, _rolled_back(session):
        sent = request(series)
        apply_invitation(session, sent, source, now)
        expected = library_occurrences(sent, *window, series)
        assert _stored(session, company_id) == expected, sent.decode()
        _label(series, expected, window)

        moved = _moved_by_an_hour(series, resend_overrides=data.draw(st.booleans(), "resend"))
        update = request(moved)
        apply_invitation(session, update, source, now)
        assert _stored(session, company_id) == library_occurrences(update, *window, moved), (
            update.decode()
        )

        excluded = {utc_key(e) for e in moved.exdates}
        beyond = (window[0], window[1] + timedelta(days=7))  # also one not yet a meeting
        instants = [i for i in rule_instants(moved, *beyond) if utc_key(i) not in excluded]
        if not instants:
            return
        gone = data.draw(st.sampled_from(instants), "cancelled occurrence")
        cancel = cancel_occurrence(
            moved,
            gone,
            sequence=moved.sequence + data.draw(st.integers(0, 1), "cancel sequence"),
            utc_recurrence_id=data.draw(st.booleans(), "cancel in UTC"),
        )
        apply_invitation(session, cancel, source, now)
        after = _without(moved, gone)
        expected = library_occurrences(request(after), *window, after)
        assert _stored(session, company_id) == expected, cancel.decode()


@contextmanager
def _rolled_back(session: Session) -> Iterator[None]:
    try:
        yield
    finally:
        session.rollback()
