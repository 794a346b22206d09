"""calendar_sync.merge: one series' iCalendar kept up to date by RFC 5546's rules (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from calendar_sync.ical import read_calendar
from calendar_sync.merge import Outcome, merge_cancel, merge_request, new_series
from calendar_sync.recurrence import expand, shifted_key
from tests.calendars import (
    STOCKHOLM,
    Override,
    Series,
    cancel_occurrence,
    cancel_series,
    request,
    utc_key,
)

UID = "weekly@acme.example"
MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=STOCKHOLM)
WINDOW = (datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))
SERIES = Series(
    uid=UID,
    start=MONDAY,
    duration=timedelta(hours=1),
    title="Veckomöte",
    rule={"freq": "WEEKLY", "count": 6},
    dtstamp=datetime(2027, 1, 10, tzinfo=UTC),
)
WEEK = timedelta(days=7)


def _calendar(data: bytes) -> Calendar:
    return read_calendar(data)


def _stored(series: Series = SERIES) -> bytes:
    return new_series(_calendar(request(series)), UID)


def _starts(ical: bytes) -> list[tuple[str, str, str]]:
    """(RECURRENCE-ID key, local start, title) of each live occurrence."""
    return [
        (o.recurrence_id, o.start.astimezone(STOCKHOLM).strftime("%m-%d %H:%M"), o.title)
        for o in expand(ical, UID, *WINDOW, default_timezone="Europe/Stockholm")
        if o.start is not None and o.status != "CANCELLED"
    ]


def _moved(occurrence: int, hours: int, title: str = "Flyttat", sequence: int = 0) -> Override:
    original = MONDAY + occurrence * WEEK
    return Override(
        original, original + timedelta(hours=hours), timedelta(hours=1), title, sequence=sequence
    )


# -- REQUEST ----------------------------------------------------------------------------------


def test_new_series_keeps_only_the_uid_and_the_zones_it_uses() -> None:
    other = replace(SERIES, uid="other@acme.example")
    both = Calendar.from_ical(request(SERIES))
    for component in Calendar.from_ical(request(other)).walk("VEVENT"):
        both.add_component(component)
    stored = read_calendar(new_series(read_calendar(both.to_ical()), UID))
    assert {str(e["UID"]) for e in stored.walk("VEVENT")} == {UID}
    assert [str(z["TZID"]) for z in stored.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    assert "METHOD" not in stored  # a stored series is not a message


@pytest.mark.parametrize(
    ("sequence", "stamp_days", "outcome"),
    [
        (1, -5, Outcome.APPLIED),  # higher SEQUENCE wins, whatever its DTSTAMP
        (0, 1, Outcome.APPLIED),  # equal SEQUENCE, newer DTSTAMP
        (0, 0, Outcome.UNCHANGED),  # the very same one again
        (0, -1, Outcome.STALE),  # equal SEQUENCE, older DTSTAMP
    ],
)
def test_request_by_sequence_then_dtstamp(sequence: int, stamp_days: int, outcome: Outcome) -> None:
    stored = _stored(replace(SERIES, sequence=0))
    update = replace(
        SERIES,
        start=MONDAY + timedelta(hours=2),
        sequence=sequence,
        dtstamp=SERIES.dtstamp + timedelta(days=stamp_days),
    )
    merged = merge_request(stored, _calendar(request(update)), UID)
    assert merged.outcome is outcome
    if outcome is Outcome.APPLIED:
        assert _starts(merged.ical)[0][1] == "03-01 11:00"
        assert merged.sequence == sequence
        assert merged.dtstamp == update.dtstamp
    else:
        assert merged.ical == stored
        assert _starts(merged.ical)[0][1] == "03-01 09:00"


def test_older_sequence_is_stale_even_with_a_newer_dtstamp() -> None:
    stored = _stored(replace(SERIES, sequence=3))
    late = replace(SERIES, title="Gammalt", sequence=2, dtstamp=SERIES.dtstamp + WEEK)
    merged = merge_request(stored, _calendar(request(late)), UID)
    assert merged.outcome is Outcome.STALE
    assert merged.ical == stored
    assert merged.sequence == 3


def test_master_update_drops_overrides_it_does_not_send_again() -> None:
    stored = _stored(replace(SERIES, overrides=(_moved(1, 3), _moved(2, 4))))
    assert [s for _, s, _ in _starts(stored)][1:3] == ["03-08 12:00", "03-15 13:00"]
    # the organizer changes the series and re-sends only the second exception
    update = replace(SERIES, title="Nytt namn", sequence=1, overrides=(_moved(2, 4, sequence=1),))
    merged = merge_request(stored, _calendar(request(update)), UID)
    assert merged.outcome is Outcome.APPLIED
    assert _starts(merged.ical) == [
        (utc_key(MONDAY), "03-01 09:00", "Nytt namn"),
        (utc_key(MONDAY + WEEK), "03-08 09:00", "Nytt namn"),  # back on the rule
        (utc_key(MONDAY + 2 * WEEK), "03-15 13:00", "Flyttat"),
        (utc_key(MONDAY + 3 * WEEK), "03-22 09:00", "Nytt namn"),
        (utc_key(MONDAY + 4 * WEEK), "03-29 09:00", "Nytt namn"),  # CEST now, same wall time
        (utc_key(MONDAY + 5 * WEEK), "04-05 09:00", "Nytt namn"),
    ]


def test_master_update_keeps_an_override_as_new_as_itself() -> None:
    """An exception with a SEQUENCE at least the new master's is not older than it."""
    stored = _stored(replace(SERIES, overrides=(_moved(1, 3, sequence=2),)))
    update = replace(SERIES, title="Nytt namn", sequence=2, dtstamp=SERIES.dtstamp + WEEK)
    merged = merge_request(stored, _calendar(request(update)), UID)
    assert merged.outcome is Outcome.APPLIED
    assert _starts(merged.ical)[1] == (utc_key(MONDAY + WEEK), "03-08 12:00", "Flyttat")


def test_request_with_only_an_override_changes_that_occurrence() -> None:
    stored = _stored()
    only = replace(SERIES, overrides=(_moved(2, 1, "Flyttat en timme"),))
    merged = merge_request(stored, _calendar(request(only, with_master=False)), UID)
    assert merged.outcome is Outcome.APPLIED
    assert merged.sequence == 0  # the master is untouched
    starts = _starts(merged.ical)
    assert len(starts) == 6
    assert starts[2] == (utc_key(MONDAY + 2 * WEEK), "03-15 10:00", "Flyttat en timme")
    assert {title for _, _, title in starts[:2] + starts[3:]} == {"Veckomöte"}
    # the same override again changes nothing; a newer one replaces it
    again = merge_request(merged.ical, _calendar(request(only, with_master=False)), UID)
    assert again.outcome is Outcome.UNCHANGED
    newer = replace(only, overrides=(_moved(2, 2, "Två timmar", sequence=1),))
    replaced = merge_request(merged.ical, _calendar(request(newer, with_master=False)), UID)
    assert replaced.outcome is Outcome.APPLIED
    assert _starts(replaced.ical)[2] == (utc_key(MONDAY + 2 * WEEK), "03-15 11:00", "Två timmar")


def test_an_override_older_than_the_series_is_stale_in_any_order() -> None:
    """A moved occurrence sent before the series was updated, delivered after the update:
    the result must not depend on the order the two arrived in."""
    stored = _stored()
    update = replace(SERIES, title="Nytt namn", sequence=1, dtstamp=SERIES.dtstamp + WEEK)
    old_move = request(replace(SERIES, overrides=(_moved(2, 1),)), with_master=False)

    in_order = merge_request(stored, _calendar(old_move), UID).ical
    in_order = merge_request(in_order, _calendar(request(update)), UID).ical
    late = merge_request(
        merge_request(stored, _calendar(request(update)), UID).ical, _calendar(old_move), UID
    )

    assert late.outcome is Outcome.STALE
    assert _starts(late.ical) == _starts(in_order)
    assert _starts(in_order)[2] == (utc_key(MONDAY + 2 * WEEK), "03-15 09:00", "Nytt namn")


# -- CANCEL -----------------------------------------------------------------------------------


def test_cancel_of_the_master_cancels_the_series() -> None:
    stored = _stored(replace(SERIES, sequence=1))
    merged = merge_cancel(stored, _calendar(cancel_series(SERIES, sequence=1)), UID)
    assert merged.outcome is Outcome.CANCELLED


def test_stale_cancel_of_the_master_changes_nothing() -> None:
    stored = _stored(replace(SERIES, sequence=2))
    merged = merge_cancel(stored, _calendar(cancel_series(SERIES, sequence=1)), UID)
    assert merged.outcome is Outcome.STALE
    assert merged.ical == stored


@pytest.mark.parametrize("utc_recurrence_id", [False, True])
def test_cancel_of_one_occurrence_excludes_it(utc_recurrence_id: bool) -> None:
    stored = _stored()
    gone = MONDAY + 4 * WEEK  # 29 March, the first Monday of summer time
    cancel = cancel_occurrence(SERIES, gone, sequence=1, utc_recurrence_id=utc_recurrence_id)
    merged = merge_cancel(stored, _calendar(cancel), UID)
    assert merged.outcome is Outcome.APPLIED
    assert [s for _, s, _ in _starts(merged.ical)] == [
        "03-01 09:00",
        "03-08 09:00",
        "03-15 09:00",
        "03-22 09:00",
        "04-05 09:00",
    ]
    assert "EXDATE" in read_calendar(merged.ical).walk("VEVENT")[0]


def test_cancel_of_a_moved_occurrence_drops_its_override() -> None:
    stored = _stored(replace(SERIES, overrides=(_moved(1, 3),)))
    merged = merge_cancel(stored, _calendar(cancel_occurrence(SERIES, MONDAY + WEEK)), UID)
    assert merged.outcome is Outcome.APPLIED
    assert len(read_calendar(merged.ical).walk("VEVENT")) == 1  # the master alone
    assert [k for k, _, _ in _starts(merged.ical)] == [
        utc_key(MONDAY + n * WEEK) for n in (0, 2, 3, 4, 5)
    ]


def test_stale_cancel_of_one_occurrence_changes_nothing() -> None:
    stored = _stored(replace(SERIES, sequence=2))
    cancel = cancel_occurrence(SERIES, MONDAY + WEEK, sequence=1)
    merged = merge_cancel(stored, _calendar(cancel), UID)
    assert merged.outcome is Outcome.STALE
    assert merged.ical == stored


def test_cancel_this_and_future_ends_the_series_before_it() -> None:
    stored = _stored()
    cancel = cancel_occurrence(SERIES, MONDAY + 3 * WEEK, this_and_future=True)
    merged = merge_cancel(stored, _calendar(cancel), UID)
    assert merged.outcome is Outcome.APPLIED
    assert [s for _, s, _ in _starts(merged.ical)] == ["03-01 09:00", "03-08 09:00", "03-15 09:00"]
    rule: Any = read_calendar(merged.ical).walk("VEVENT")[0]["RRULE"]
    assert "COUNT" not in rule
    assert rule["UNTIL"] == [(MONDAY + 3 * WEEK).astimezone(UTC) - timedelta(seconds=1)]


def test_a_late_cancel_this_and_future_does_not_lengthen_the_series_again() -> None:
    """Two "this and all following" cancellations delivered out of order: the earlier end
    stands (weeks 4 and 5 must not come back)."""
    stored = _stored()
    first = cancel_occurrence(SERIES, MONDAY + 3 * WEEK, this_and_future=True)
    later = cancel_occurrence(SERIES, MONDAY + 5 * WEEK, this_and_future=True)
    merged = merge_cancel(stored, _calendar(first), UID)
    merged = merge_cancel(merged.ical, _calendar(later), UID)
    assert [s for _, s, _ in _starts(merged.ical)] == ["03-01 09:00", "03-08 09:00", "03-15 09:00"]


def test_cancel_this_and_future_of_an_all_day_series() -> None:
    days = replace(
        SERIES,
        start=MONDAY.replace(hour=0),
        rule={"freq": "DAILY", "count": 10},
    )
    data = request(days).replace(
        b"DTSTART;TZID=Europe/Stockholm:20270301T000000", b"DTSTART;VALUE=DATE:20270301"
    )
    data = data.replace(
        b"DTEND;TZID=Europe/Stockholm:20270301T010000", b"DTEND;VALUE=DATE:20270302"
    )
    stored = new_series(_calendar(data), UID)
    cancel = cancel_occurrence(days, MONDAY, this_and_future=True).replace(
        b"RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Stockholm:20270301T090000",
        b"RECURRENCE-ID;RANGE=THISANDFUTURE;VALUE=DATE:20270304",
    )
    assert b"VALUE=DATE:20270304" in cancel
    merged = merge_cancel(stored, _calendar(cancel), UID)
    assert merged.outcome is Outcome.APPLIED
    rule: Any = read_calendar(merged.ical).walk("VEVENT")[0]["RRULE"]
    assert rule["UNTIL"] == [date(2027, 3, 3)]
    assert len(_starts(merged.ical)) == 3


def test_cancel_of_every_occurrence_of_an_override_only_series_cancels_it() -> None:
    """Invited to one occurrence only (no master), its CANCEL leaves nothing."""
    only = replace(SERIES, overrides=(_moved(2, 1),))
    stored = new_series(_calendar(request(only, with_master=False)), UID)
    merged = merge_cancel(stored, _calendar(cancel_occurrence(SERIES, MONDAY + 2 * WEEK)), UID)
    assert merged.outcome is Outcome.CANCELLED


def test_cancel_of_an_unknown_uid_changes_nothing() -> None:
    stored = _stored()
    other = replace(SERIES, uid="other@acme.example")
    merged = merge_cancel(stored, _calendar(cancel_series(other)), UID)
    assert merged.outcome is Outcome.UNCHANGED
    assert merged.ical == stored


# -- a moved series ---------------------------------------------------------------------------


def test_merged_says_when_an_update_moved_the_series() -> None:
    stored = _stored()
    later = replace(SERIES, start=MONDAY + timedelta(hours=1), sequence=1)
    moved = merge_request(stored, _calendar(request(later)), UID).moved
    assert moved == (MONDAY, MONDAY + timedelta(hours=1))
    renamed = replace(SERIES, title="Nytt namn", sequence=1)
    assert merge_request(stored, _calendar(request(renamed)), UID).moved is None
    one = replace(SERIES, overrides=(_moved(2, 1),))
    only = merge_request(stored, _calendar(request(one, with_master=False)), UID)
    assert only.outcome is Outcome.APPLIED
    assert only.moved is None


def test_an_occurrence_key_follows_the_series_on_the_wall_clock() -> None:
    """09:00 → 10:00 every Monday: 08:00Z → 09:00Z in winter, 07:00Z → 08:00Z in summer."""
    before, after = MONDAY, MONDAY + timedelta(hours=1)
    assert shifted_key("20270301T080000Z", before, after) == "20270301T090000Z"
    assert shifted_key("20270329T070000Z", before, after) == "20270329T080000Z"
    london = MONDAY.astimezone(ZoneInfo("Europe/London")).replace(hour=9)  # and another zone
    assert shifted_key("20270329T070000Z", before, london) == "20270329T080000Z"
    assert shifted_key("20270301", date(2027, 3, 1), date(2027, 3, 3)) == "20270303"
    assert shifted_key("20270301", date(2027, 3, 1), MONDAY) is None
    assert shifted_key("20270301T080000Z", MONDAY.replace(tzinfo=None), MONDAY) is None


def test_a_series_read_once_is_not_changed_by_merging_it() -> None:
    """A stored series is kept as read for the next change; cancelling an occurrence edits
    a copy, so the same stored text merged again still has every occurrence."""
    stored = _stored()
    first = merge_cancel(stored, _calendar(cancel_occurrence(SERIES, MONDAY + WEEK)), UID)
    assert len(_starts(first.ical)) == 5
    later = cancel_occurrence(SERIES, MONDAY + 3 * WEEK, this_and_future=True)
    second = merge_cancel(stored, _calendar(later), UID)
    assert [s for _, s, _ in _starts(second.ical)] == ["03-01 09:00", "03-08 09:00", "03-15 09:00"]
    again = merge_request(stored, _calendar(request(replace(SERIES, sequence=1))), UID)
    assert len(_starts(again.ical)) == 6
    assert len(_starts(stored)) == 6
    assert first.calendar is not None
    assert len(_starts(first.calendar.to_ical())) == 5
