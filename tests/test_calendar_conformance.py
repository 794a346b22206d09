"""Conformance over the shared corpus (read in place): every file in ics/ and imip-eml/ gives
meetings or a named refusal — never an unhandled exception — and the values in
tests/conformance_expected.py (written apart from the code) hold."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from kollegan.conformance import FileReport, check_file
from tests.conformance_expected import EXPECTED, REFUSED, Expected
from tests.conftest import CORPUS, MAIL_DOMAIN

FOLDERS = ("ics", "imip-eml")
# Where recurring-ical-events (which expands our series) reads a file otherwise than the RFC
# does; each is explained in the table's note. The table keeps the RFC's value; these tests
# assert what Kollegan does today, so a change either way is seen.
KNOWN_DEVIATIONS: dict[str, int] = {}
# Files the table reads leniently and we refuse, by name (the refusal is the assertion).
KNOWN_REFUSALS = {
    # 'DTSTART;TZID=:' — icalendar cannot read a calendar with an empty TZID at all
    "ics/ical4j_blankTzid.ics": "unreadable",
}
# The table's reasons and ours name some refusals differently, or at another depth (a file
# icalendar cannot read at all is "unreadable" to us before it can be "no-vevent").
SAME_REFUSAL: dict[str, set[str]] = {
    "no-vevent": {"no-vevent", "unreadable"},
    "no-dtstart": {"no-dtstart", "no-uid", "unreadable"},
    "broken-syntax": {"unreadable", "no-dtstart", "bad-value"},
    "two-dtstart": {"bad-value", "unreadable"},
}


def _window(entry: Expected) -> tuple[datetime, datetime]:
    start, end = entry["window"]
    return datetime.fromisoformat(start), datetime.fromisoformat(end)


def _check(name: str, window: tuple[datetime, datetime]) -> FileReport:
    return check_file(
        CORPUS / name, window, default_timezone="Europe/Stockholm", mail_domain=MAIL_DOMAIN
    )


def test_every_file_gives_meetings_or_a_named_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    window = (
        datetime.fromisoformat("2000-01-01T00:00:00Z"),
        datetime.fromisoformat("2000-01-02T00:00:00Z"),
    )
    outcomes: Counter[str] = Counter()
    crashed: list[str] = []
    for folder in FOLDERS:
        for path in sorted((CORPUS / folder).iterdir()):
            try:
                report = check_file(
                    path, window, default_timezone="Europe/Stockholm", mail_domain=MAIL_DOMAIN
                )
            except Exception as exc:  # the very thing this test exists to catch
                crashed.append(f"{folder}/{path.name}: {type(exc).__name__}: {exc}")
                continue
            outcomes[f"refused ({report.refusal})" if report.refusal else "understood"] += 1
            with capsys.disabled():
                for line in report.lines():
                    print(f"{folder}/{line}")
    with capsys.disabled():
        print(
            "totals:",
            ", ".join(f"{name}: {n}" for name, n in sorted(outcomes.items())),
            f"crashed: {len(crashed)}",
        )
    assert crashed == []
    assert sum(outcomes.values()) == sum(
        1 for folder in FOLDERS for _ in (CORPUS / folder).iterdir()
    )


@pytest.mark.parametrize("entry", EXPECTED, ids=[e["file"] for e in EXPECTED])
def test_expected_values(entry: Expected) -> None:
    report = _check(entry["file"], _window(entry))
    if entry["file"] in KNOWN_REFUSALS:
        assert report.refusal == KNOWN_REFUSALS[entry["file"]]
        return
    assert report.refusal is None, report.refusal
    calendar = report.calendars[0]
    event = calendar.events[0]
    assert calendar.method == entry["method"]
    if entry["uid"]:
        assert event.uid == entry["uid"]
    else:  # no UID in the file: we give it a stable one made from its content
        assert event.uid.startswith("kollegan-") and event.uid.endswith("@uid.invalid")
    assert event.title == entry["title"].strip()  # titles are kept without edge blanks
    start = event.start.strftime("%Y-%m-%dT%H:%M:%SZ") if event.start else None
    assert start == entry["start_utc"]
    assert event.all_day == entry["all_day"]
    expected = KNOWN_DEVIATIONS.get(entry["file"], entry["occurrences"])
    assert calendar.occurrences.get(event.uid, 0) == expected


@pytest.mark.parametrize(("name", "reason"), sorted(REFUSED.items()))
def test_unusable_files_are_refused_by_name(name: str, reason: str) -> None:
    report = _check(
        name,
        (
            datetime.fromisoformat("2000-01-01T00:00:00Z"),
            datetime.fromisoformat("2000-01-02T00:00:00Z"),
        ),
    )
    assert report.refusal in SAME_REFUSAL.get(reason, {reason})


def test_the_table_is_large_enough() -> None:
    assert len(EXPECTED) >= 40
    assert all((CORPUS / entry["file"]).is_file() for entry in EXPECTED)
    assert all(Path(CORPUS / name).is_file() for name in REFUSED)
