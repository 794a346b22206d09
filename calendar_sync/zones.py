"""Naming the time zone an invitation was written in (pure).

Invitations name zones in many ways: IANA ids (``Europe/Stockholm``), Windows names from
Outlook/Exchange (``W. Europe Standard Time``), Exchange display names (``(UTC+01:00)
Amsterdam, Berlin, …``), or a custom VTIMEZONE with any TZID at all (``Customized Time Zone``,
``Unknown``). icalendar already turns each into a working tzinfo; what is kept beside the UTC
time is an IANA id wherever one can be found — from the id itself, from the Windows table, or
failing those by matching the zone's UTC offsets over two years against the IANA database
(preferring the reader's own zone, then Europe, when several match) — else the TZID as given.
Where a display name names several cities, the reader's own zone wins, then Windows' own
meaning of the name.
"""

from __future__ import annotations

import contextlib
import functools
import re
import weakref
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

# Zones tried first when several match a custom definition (Kollegan's users are mostly here).
PREFERRED = (
    "Europe/Stockholm",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "Europe/Helsinki",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
)
_SAMPLES_PER_YEAR = 24
_LEGACY_PREFIXES = ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/")


def as_zone(name: str, fallback: str = "UTC") -> tzinfo:
    """The tzinfo for an IANA id (also accepts Windows names); ``fallback`` when unknown."""
    mapped = WINDOWS_TO_OLSON.get(name.strip().strip('"'), name)
    try:
        return ZoneInfo(str(mapped))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def is_iana(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_name(tz: tzinfo | None, tzid: str, near: datetime, preferred: str) -> str:
    """The IANA id (or, failing that, the TZID) of the zone a time was given in."""
    if tz is None:
        return preferred
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key:
        return key
    tzid = tzid.strip().strip('"')
    mapped = WINDOWS_TO_OLSON.get(tzid) or WINDOWS_TO_OLSON.get(_unescape(tzid))
    if mapped:
        return str(mapped)
    if is_iana(tzid):
        return tzid  # a custom VTIMEZONE that kept the IANA name (Thunderbird, Apple)
    return _named_by_offsets(tz, tzid, near, preferred) or tzid or "UTC"


_DEFINITIONS: weakref.WeakKeyDictionary[tzinfo, str] = weakref.WeakKeyDictionary()
_NAMES: dict[tuple[str, str, int, str], str | None] = {}
_MAX_NAMES = 1000


def remember_definition(tz: tzinfo, definition: str) -> None:
    """Note which VTIMEZONE (its content) a zone object was made from, so its name is found
    once per definition rather than once per reading (see :func:`_named_by_offsets`)."""
    with contextlib.suppress(TypeError):  # a zone that cannot be weakly referenced
        _DEFINITIONS[tz] = definition


def _named_by_offsets(tz: tzinfo, tzid: str, near: datetime, preferred: str) -> str | None:
    """:func:`match_by_offsets`, remembered by the zone's definition: a VTIMEZONE's own zone
    costs about a millisecond per conversion, and the match takes a hundred."""
    try:
        definition = _DEFINITIONS.get(tz)
    except TypeError:
        definition = None
    if definition is None:
        return match_by_offsets(tz, near, preferred, hint=tzid)
    key = (definition, tzid, near.year, preferred)
    if key not in _NAMES:
        if len(_NAMES) >= _MAX_NAMES:
            _NAMES.clear()
        _NAMES[key] = match_by_offsets(tz, near, preferred, hint=tzid)
    return _NAMES[key]


def match_by_offsets(tz: tzinfo, near: datetime, preferred: str, hint: str = "") -> str | None:
    """An IANA zone whose UTC offset equals ``tz``'s at every sample over two years; zones
    whose city the ``hint`` (a display name like "Kuala Lumpur, Singapore") names come first."""
    samples = _samples(near)
    try:
        wanted = tuple(s.astimezone(tz).utcoffset() for s in samples)
    except Exception:  # a broken VTIMEZONE: no match rather than a crash
        return None
    return _first_matching(wanted, samples, preferred, _named_cities(hint, preferred))


def equivalent_zone(
    tz: tzinfo, tzid: str, near: datetime, preferred: str, since: datetime | None = None
) -> str | None:
    """An IANA zone that keeps the same time as ``tz`` (a VTIMEZONE's own definition) for
    two years around ``near`` (from ``since`` on: before its first rule a VTIMEZONE says
    nothing), to the minute of each change: the TZID itself or its Windows meaning when they
    agree, else one found by offsets; None when none does."""
    samples = tuple(s for s in _samples(near) if since is None or s >= since)
    if len(samples) < _SAMPLES_PER_YEAR:  # less than a year of rules: no safe match
        return None
    try:
        wanted = tuple(s.astimezone(tz).utcoffset() for s in samples)
        name = tzid.strip().strip('"')
        windows = WINDOWS_TO_OLSON.get(name) or WINDOWS_TO_OLSON.get(_unescape(name))
        for candidate in (name if is_iana(name) else None, str(windows) if windows else None):
            if candidate and _offsets(candidate, samples) == wanted:
                break
        else:
            candidate = _first_matching(wanted, samples, preferred, _named_cities(tzid, preferred))
        if candidate is None:
            return None
        return candidate if _same_changes(tz, ZoneInfo(candidate), samples, wanted) else None
    except Exception:  # a broken VTIMEZONE: keep its own definition
        return None


def _samples(near: datetime) -> tuple[datetime, ...]:
    """Twice a month for two years around ``near``'s month (as written: converting ``near``
    through a VTIMEZONE's own zone is the slow part this avoids)."""
    start = datetime(near.year, near.month, 1, 12, tzinfo=UTC)
    return tuple(
        start + timedelta(days=round(i * 365 / _SAMPLES_PER_YEAR))
        for i in range(-_SAMPLES_PER_YEAR, _SAMPLES_PER_YEAR)
    )


def _same_changes(
    tz: tzinfo, zone: tzinfo, samples: tuple[datetime, ...], offsets: tuple[timedelta | None, ...]
) -> bool:
    """Between two samples with different offsets, both zones change at the same minute
    (samples two weeks apart cannot tell the last Sunday of March from the one before)."""
    for (a, b), (before, after) in zip(pairwise(samples), pairwise(offsets), strict=True):
        if before != after and _change(tz, a, b) != _change(zone, a, b):
            return False
    return True


def _change(tz: tzinfo, a: datetime, b: datetime) -> datetime:
    """The first minute in (a, b] with ``b``'s offset (one change between them)."""
    target = b.astimezone(tz).utcoffset()
    while b - a > timedelta(minutes=1):
        middle = a + (b - a) / 2
        if middle.astimezone(tz).utcoffset() == target:
            b = middle
        else:
            a = middle
    return b.replace(second=0, microsecond=0)


@functools.lru_cache(maxsize=256)
def _first_matching(
    wanted: tuple[timedelta | None, ...],
    samples: tuple[datetime, ...],
    preferred: str,
    named: tuple[str, ...],
) -> str | None:
    candidates = (*named, preferred, *PREFERRED, *_all_zones())
    return next((name for name in candidates if _offsets(name, samples) == wanted), None)


def _named_cities(hint: str, preferred: str) -> tuple[str, ...]:
    """IANA zones whose city appears in a display name ("Kuala Lumpur, Singapore"): the
    reader's own zone first, then the zone Windows means by that name (the Windows table's
    targets: "Amsterdam, Berlin, …, Vienna" is Berlin), then the usual ones (PREFERRED)."""
    words = " " + " ".join(re.findall(r"[^\W\d_]+", _unescape(hint).lower())) + " "
    if len(words) < 6:
        return ()
    named = [
        name
        for name in _all_zones()
        if " " + name.rsplit("/", 1)[-1].replace("_", " ").lower() + " " in words
    ]
    return tuple(
        sorted(
            named,
            key=lambda n: (n != preferred, n not in _windows_targets(), n not in PREFERRED),
        )
    )


@functools.cache
def _windows_targets() -> frozenset[str]:
    return frozenset(str(name) for name in WINDOWS_TO_OLSON.values())


def _offsets(name: str, samples: tuple[datetime, ...]) -> tuple[timedelta | None, ...]:
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ()
    return tuple(s.astimezone(zone).utcoffset() for s in samples)


_REGIONS = ("Europe/", "America/", "Asia/", "Australia/", "Africa/", "Pacific/", "Atlantic/")


@functools.cache
def _all_zones() -> tuple[str, ...]:
    """Every IANA zone with a region, the populous regions first (Antarctica comes last)."""
    names = (n for n in available_timezones() if "/" in n and not n.startswith(_LEGACY_PREFIXES))

    def region(name: str) -> int:
        return next((i for i, r in enumerate(_REGIONS) if name.startswith(r)), len(_REGIONS))

    return tuple(sorted(names, key=lambda n: (region(n), n)))


def _unescape(tzid: str) -> str:
    return re.sub(r"\\([,;\\])", r"\1", tzid)


_DISPLAY_OFFSET_RE = re.compile(r"\((?:UTC|GMT)\s*([+-])(\d{1,2})[:.]?(\d{2})?\)")


def zone_from_display_name(tzid: str, near: datetime, preferred: str) -> str | None:
    """An IANA zone for a Windows display name nothing defines, e.g. "(UTC-05:00) Eastern Time
    (US and Canada)": a zone whose standard offset is the one named, a named city first."""
    tzid = _unescape(tzid.strip().strip('"'))
    mapped = WINDOWS_TO_OLSON.get(tzid)
    if mapped:
        return str(mapped)
    found = _DISPLAY_OFFSET_RE.search(tzid)
    if found is None:
        return None
    sign = -1 if found.group(1) == "-" else 1
    offset = sign * timedelta(hours=int(found.group(2)), minutes=int(found.group(3) or 0))
    year = near.year
    winter, summer = datetime(year, 1, 15, 12, tzinfo=UTC), datetime(year, 7, 15, 12, tzinfo=UTC)

    def standard(name: str) -> timedelta | None:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        offsets = [moment.astimezone(zone).utcoffset() for moment in (winter, summer)]
        return min(o for o in offsets if o is not None)

    candidates = (*_named_cities(tzid, preferred), preferred, *PREFERRED, *_all_zones())
    return next((name for name in candidates if standard(name) == offset), None)
