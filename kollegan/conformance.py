"""``kollegan calendar check``: what Kollegan makes of a file — meetings, or a named refusal.

An ``.eml`` goes the way mail goes (parse, acceptance rules, the calendars it carries); an
``.ics`` is read as the calendar it is. Nothing is stored. The conformance tests run this over
the shared corpus and compare it with an expected-values table written apart from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from calendar_sync.ical import EventData, parse_calendar, read_calendar
from calendar_sync.itip import refusal_for
from calendar_sync.merge import new_series, uids_in
from calendar_sync.recurrence import expand
from core.errors import CalendarError, ParseError
from inbox.parse import parse_message
from inbox.rules import RuleContext, vet

MAIL_SUFFIXES = (".eml", ".txt", ".msg")


@dataclass(frozen=True, slots=True)
class CalendarReport:
    method: str
    events: tuple[EventData, ...]
    occurrences: dict[str, int]  # per UID, in the window


@dataclass
class FileReport:
    path: Path
    calendars: list[CalendarReport] = field(default_factory=list)
    refusal: str | None = None  # a stable name: no-calendar, bounce, no-dtstart, …

    def lines(self) -> list[str]:
        if self.refusal:
            return [f"{self.path.name}: refused ({self.refusal})"]
        out = []
        for calendar in self.calendars:
            for event in calendar.events:
                start = event.start.strftime("%Y-%m-%dT%H:%M:%SZ") if event.start else "-"
                count = calendar.occurrences.get(event.uid)
                tail = f", {count} occurrence(s) in the window" if count is not None else ""
                out.append(
                    f"{self.path.name}: {calendar.method or '(no method)'} {event.title!r} "
                    f"{start} ({event.timezone}){tail}"
                )
        return out or [f"{self.path.name}: no events"]


def check_file(
    path: Path, window: tuple[datetime, datetime], *, default_timezone: str, mail_domain: str
) -> FileReport:
    report = FileReport(path)
    data = path.read_bytes()
    try:
        calendars = _calendars_of(data, path, mail_domain)
    except _Refused as refused:
        report.refusal = refused.name
        return report
    for calendar in calendars:
        try:
            report.calendars.append(_check_calendar(calendar, window, default_timezone))
        except CalendarError as exc:
            report.refusal = exc.code
            return report
    if not report.calendars:
        report.refusal = "no-calendar"
    return report


class _Refused(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _calendars_of(data: bytes, path: Path, mail_domain: str) -> list[bytes]:
    if path.suffix.lower() not in MAIL_SUFFIXES:
        return [data]
    try:
        message = parse_message(data)
    except ParseError:
        raise _Refused("unparseable") from None
    verdict = vet(
        message, RuleContext(mail_from=message.from_address or "", mail_domain=mail_domain)
    )
    if verdict.refusal is not None:
        raise _Refused(verdict.refusal.name)
    if not message.calendars:
        raise _Refused("no-calendar")
    return list(message.calendars)


def _check_calendar(
    data: bytes, window: tuple[datetime, datetime], default_timezone: str
) -> CalendarReport:
    parsed = parse_calendar(data, default_timezone=default_timezone)
    if not parsed.events:
        raise CalendarError("the calendar holds no event", "no-vevent")
    refusal = refusal_for(parsed)
    if refusal is not None:
        raise CalendarError(refusal, refusal)
    occurrences: dict[str, int] = {}
    if parsed.method != "CANCEL":  # a CANCEL names occurrences that are no more
        calendar = read_calendar(data, default_timezone)
        for uid in uids_in(calendar):
            series = new_series(calendar, uid)
            found = expand(series, uid, window[0], window[1], default_timezone=default_timezone)
            occurrences[uid] = sum(
                1
                for o in found
                if o.start is not None
                and window[0] <= o.start < window[1]
                and o.status != "CANCELLED"
            )
    else:
        occurrences = {e.uid: 0 for e in parsed.events}
    return CalendarReport(parsed.method, parsed.events, occurrences)
