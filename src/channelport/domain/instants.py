"""Instants on the wire and in the UI: RFC 3339 in UTC, and the merchant's local time.

"Import from" is entered as a local date and time in the account's time zone. A local
time in the spring gap does not exist and is refused; one in the autumn overlap exists
twice and takes the earlier instant, and the caller is told so it can say it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc


class NonexistentLocalTime(ValueError):
    """The local time falls into a daylight-saving gap."""


def format_instant(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: `2026-11-20T08:15:02.120Z`."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """Parse RFC 3339 with an offset or `Z`; a timestamp without one is refused."""
    if not isinstance(text, str):
        raise ValueError(f"expected an RFC 3339 timestamp string, got {type(text).__name__}")
    value = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return value.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


@dataclass(frozen=True, slots=True)
class LocalInstant:
    """A local wall time resolved to UTC; `ambiguous` says the earlier of two was taken."""

    utc: datetime
    ambiguous: bool


def local_to_utc(day: date, at: time, tz_name: str) -> LocalInstant:
    """Resolve a wall-clock date and time in a zone to one UTC instant."""
    tz = zone(tz_name)
    naive = datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if _round_trips(first, naive) is False and _round_trips(second, naive) is False:
        raise NonexistentLocalTime(
            f"{naive:%Y-%m-%d %H:%M:%S} does not exist in {tz_name} (clocks jump forward then); choose another time"
        )
    ambiguous = first.utcoffset() != second.utcoffset()
    chosen = first if _round_trips(first, naive) else second
    if ambiguous:
        # fold=0 is the earlier of the two instants in zoneinfo.
        chosen = min(first, second, key=lambda v: v.astimezone(UTC))
    return LocalInstant(utc=chosen.astimezone(UTC), ambiguous=ambiguous)


def utc_to_local(value: datetime, tz_name: str) -> datetime:
    return value.astimezone(zone(tz_name))


def _round_trips(candidate: datetime, naive: datetime) -> bool:
    back = candidate.astimezone(UTC).astimezone(candidate.tzinfo).replace(tzinfo=None)
    return back == naive


def start_of_local_day(day: date, tz_name: str) -> LocalInstant:
    return local_to_utc(day, time(0, 0, 0), tz_name)


__all__ = [
    "UTC",
    "LocalInstant",
    "NonexistentLocalTime",
    "format_instant",
    "local_to_utc",
    "parse_instant",
    "start_of_local_day",
    "utc_to_local",
    "zone",
]
