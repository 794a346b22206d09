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

import functools
import re
from datetime import UTC, datetime, timedelta, tzinfo
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
    found = match_by_offsets(tz, near, preferred, hint=tzid)
    if found:
        return found
    return tzid or "UTC"


def match_by_offsets(tz: tzinfo, near: datetime, preferred: str, hint: str = "") -> str | None:
    """An IANA zone whose UTC offset equals ``tz``'s at every sample over two years; zones
    whose city the ``hint`` (a display name like "Kuala Lumpur, Singapore") names come first."""
    start = near.astimezone(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    samples = tuple(
        start + timedelta(days=round(i * 365 / _SAMPLES_PER_YEAR))
        for i in range(-_SAMPLES_PER_YEAR, _SAMPLES_PER_YEAR)
    )
    try:
        wanted = tuple(s.astimezone(tz).utcoffset() for s in samples)
    except Exception:  # a broken VTIMEZONE: no match rather than a crash
        return None
    return _first_matching(wanted, samples, preferred, _named_cities(hint, preferred))


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
