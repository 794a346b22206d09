"""calendar_sync.plan: from a series' occurrences to create / update / cancel (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from calendar_sync.ical import EventData
from calendar_sync.plan import (
    Cancel,
    Create,
    Existing,
    Update,
    follow_the_series,
    plan_occurrences,
)

NOW = datetime(2027, 3, 20, 8, 0, tzinfo=UTC)
WINDOW_START = NOW - timedelta(hours=12)
WINDOW_END = NOW + timedelta(days=60)


def occurrence(start: datetime, status: str = "CONFIRMED", key: str | None = None) -> EventData:
    return EventData(
        uid="s@acme.example",
        recurrence_id=key if key is not None else start.strftime("%Y%m%dT%H%M%SZ"),
        sequence=0,
        dtstamp=None,
        title="Veckomöte",
        description="",
        location="",
        organizer=None,
        attendees=(),
        start=start,
        end=start + timedelta(hours=1),
        timezone="Europe/Stockholm",
        all_day=False,
        join_url=None,
        status=status,
        recurring=True,
    )


def row(meeting_id: int, start: datetime, cancelled: bool = False) -> Existing:
    return Existing(meeting_id, start.strftime("%Y%m%dT%H%M%SZ"), start, cancelled)


def plan(
    existing: list[Existing],
    occurrences: list[EventData],
    *,
    window_end: datetime | None = WINDOW_END,
    series_cancelled: bool = False,
) -> list[object]:
    return list(
        plan_occurrences(
            existing,
            occurrences,
            window_start=WINDOW_START,
            window_end=window_end,
            series_cancelled=series_cancelled,
        )
    )


def test_new_occurrences_are_created_and_known_ones_updated() -> None:
    first, second = occurrence(NOW + timedelta(days=1)), occurrence(NOW + timedelta(days=8))
    actions = plan([row(7, NOW + timedelta(days=1))], [first, second])
    assert actions == [Update(7, first), Create(second)]


def test_a_known_occurrence_no_longer_in_the_series_is_cancelled() -> None:
    kept = occurrence(NOW + timedelta(days=1))
    actions = plan([row(1, NOW + timedelta(days=1)), row(2, NOW + timedelta(days=8))], [kept])
    assert actions == [Update(1, kept), Cancel(2)]


def test_a_cancelled_occurrence_cancels_its_meeting_or_creates_none() -> None:
    start = NOW + timedelta(days=1)
    assert plan([row(1, start)], [occurrence(start, "CANCELLED")]) == [Cancel(1)]
    assert plan([row(1, start, cancelled=True)], [occurrence(start, "CANCELLED")]) == []
    assert plan([], [occurrence(start, "CANCELLED")]) == []


def test_an_occurrence_back_after_a_cancellation_updates_its_row() -> None:
    start = NOW + timedelta(days=1)
    again = occurrence(start)
    assert plan([row(1, start, cancelled=True)], [again]) == [Update(1, again)]


def test_only_the_window_is_touched() -> None:
    """Meetings that began before the window (the past) and those beyond the horizon are
    left alone; the window is [start, end): its first instant in, its last out."""
    rows = [
        row(1, WINDOW_START - timedelta(seconds=1)),
        row(2, WINDOW_START),
        row(3, WINDOW_END - timedelta(seconds=1)),
        row(4, WINDOW_END),
        row(5, WINDOW_END + timedelta(days=3)),
    ]
    assert plan(rows, []) == [Cancel(2), Cancel(3)]


def test_a_single_event_has_no_window() -> None:
    """window_end None: the occurrences are complete, every meeting of the UID is in scope."""
    long_ago = NOW - timedelta(days=400)
    assert plan([row(1, long_ago)], [], window_end=None) == [Cancel(1)]
    moved = occurrence(NOW + timedelta(days=500), key="")
    assert plan([Existing(1, "", long_ago, False)], [moved], window_end=None) == [Update(1, moved)]


def test_a_cancelled_series_cancels_what_is_to_come_and_keeps_the_past() -> None:
    rows = [
        row(1, NOW - timedelta(days=14)),  # happened: stays as it was
        row(2, WINDOW_START),
        row(3, NOW + timedelta(days=1)),
        row(4, NOW + timedelta(days=200)),  # beyond the horizon, made long ago: cancelled too
        row(5, NOW + timedelta(days=2), cancelled=True),  # already cancelled: nothing to do
    ]
    occurrences = [occurrence(NOW + timedelta(days=1))]  # ignored once the series is cancelled
    assert plan(rows, occurrences, series_cancelled=True) == [Cancel(2), Cancel(3), Cancel(4)]


def test_a_cancelled_single_event_is_cancelled_even_if_it_began() -> None:
    """A single event's CANCEL that arrives while it is on (within the look-back) cancels it."""
    began = Existing(1, "", NOW - timedelta(hours=1), False)
    assert plan([began], [], window_end=None, series_cancelled=True) == [Cancel(1)]


days = st.integers(-30, 90)


@given(
    rows=st.lists(st.tuples(days, st.booleans()), max_size=8, unique_by=lambda r: r[0]),
    wanted=st.lists(days, max_size=8, unique=True),
)
def test_after_the_plan_the_window_matches_the_occurrences(
    rows: list[tuple[int, bool]], wanted: list[int]
) -> None:
    """Apply the plan to the rows: inside the window exactly the wanted occurrences are live
    meetings, each once; outside it nothing changed."""
    existing = [row(n, NOW + timedelta(days=d), c) for n, (d, c) in enumerate(rows)]
    occurrences = [
        occurrence(NOW + timedelta(days=d))
        for d in wanted
        if WINDOW_START <= NOW + timedelta(days=d) < WINDOW_END
    ]
    live = {r.recurrence_id: not r.cancelled for r in existing}
    starts = {r.recurrence_id: r.start for r in existing}
    for action in plan(existing, occurrences):
        if isinstance(action, Create):
            assert action.event.recurrence_id not in live
            assert action.event.start is not None
            live[action.event.recurrence_id] = True
            starts[action.event.recurrence_id] = action.event.start
        elif isinstance(action, Update):
            live[existing[action.meeting_id].recurrence_id] = True
        else:
            assert isinstance(action, Cancel)
            assert live[existing[action.meeting_id].recurrence_id]  # never cancelled twice
            live[existing[action.meeting_id].recurrence_id] = False
    inside = {k for k, s in starts.items() if WINDOW_START <= s < WINDOW_END}
    assert {k for k in inside if live[k]} == {o.recurrence_id for o in occurrences}
    for r in existing:
        if not WINDOW_START <= r.start < WINDOW_END:
            assert live[r.recurrence_id] == (not r.cancelled)


def key(start: datetime) -> str:
    return start.strftime("%Y%m%dT%H%M%SZ")


def test_meetings_follow_their_occurrences_when_the_series_moves() -> None:
    """Moved a week later: each meeting takes the next one's key (the keys swap among the
    meetings themselves); a cancelled meeting, a key no occurrence has and a key another
    meeting keeps are left to the plan."""
    week = timedelta(days=7)
    starts = [NOW + n * week for n in range(4)]
    rows = [row(n, s) for n, s in enumerate(starts)]
    rows.append(row(9, NOW - week, cancelled=True))
    occurring = {key(s + week) for s in starts}

    def a_week_later(k: str) -> str:
        return key(datetime.strptime(k, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) + week)

    moves = follow_the_series(rows, a_week_later, occurring)
    assert moves == {n: key(starts[n] + week) for n in range(4)}  # not the cancelled one
    # the last one's moved occurrence is beyond the window: it stays, and its key with it
    occurring.remove(key(starts[3] + week))
    moves = follow_the_series(rows, a_week_later, occurring)
    assert moves == {0: key(starts[1]), 1: key(starts[2])}
    # a cancelled meeting at the target keeps its key too
    staying = [row(0, starts[0]), row(5, starts[1], cancelled=True)]
    assert follow_the_series(staying, a_week_later, {key(starts[1])}) == {}
    assert follow_the_series(rows, lambda _k: None, occurring) == {}
