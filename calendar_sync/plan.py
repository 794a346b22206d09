"""From a series' occurrences to meeting rows: a pure plan of create / update / cancel.

Only the window the occurrences were computed for is touched: meetings that already happened
and occurrences beyond the horizon are left alone (the horizon moves forward every day).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from calendar_sync.ical import EventData


@dataclass(frozen=True, slots=True)
class Existing:
    meeting_id: int
    recurrence_id: str
    start: datetime
    cancelled: bool


@dataclass(frozen=True, slots=True)
class Create:
    event: EventData


@dataclass(frozen=True, slots=True)
class Update:
    meeting_id: int
    event: EventData


@dataclass(frozen=True, slots=True)
class Cancel:
    meeting_id: int


Action = Create | Update | Cancel


def plan_occurrences(
    existing: Sequence[Existing],
    occurrences: Sequence[EventData],
    *,
    window_start: datetime,
    window_end: datetime | None,
    series_cancelled: bool,
) -> list[Action]:
    """What to do so the meetings in the window match the occurrences.

    ``window_end`` None means the occurrences are complete (a single event): every existing
    meeting of the series is in scope."""

    def in_window(moment: datetime) -> bool:
        return window_end is None or window_start <= moment < window_end

    rows = {row.recurrence_id: row for row in existing}
    actions: list[Action] = []
    seen: set[str] = set()
    for event in occurrences if not series_cancelled else ():
        seen.add(event.recurrence_id)
        row = rows.get(event.recurrence_id)
        if event.status == "CANCELLED":
            if row is not None and not row.cancelled:
                actions.append(Cancel(row.meeting_id))
        elif row is None:
            actions.append(Create(event))
        else:
            actions.append(Update(row.meeting_id, event))
    for row in existing:
        if row.recurrence_id in seen or row.cancelled:
            continue
        if (series_cancelled and row.start >= window_start) or (
            not series_cancelled and in_window(row.start)
        ):
            actions.append(Cancel(row.meeting_id))
    return actions


def follow_the_series(
    existing: Sequence[Existing],
    new_key_of: Callable[[str], str | None],
    occurring: Collection[str],
) -> dict[int, str]:
    """When an update moved the whole series, each meeting follows its occurrence: meeting
    id → its new recurrence key, for live meetings whose moved occurrence exists (so the
    plan updates them, pre-brief and all, instead of cancelling one and creating another).
    A key another meeting keeps is never taken."""
    moves: dict[int, str] = {}
    for row in existing:
        target = None if row.cancelled else new_key_of(row.recurrence_id)
        if target is not None and target != row.recurrence_id and target in occurring:
            moves[row.meeting_id] = target
    taken = {row.recurrence_id for row in existing if row.meeting_id not in moves}
    return {meeting_id: key for meeting_id, key in moves.items() if key not in taken}
