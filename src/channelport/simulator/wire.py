"""Wire vocabulary of the Channel Event API and the simulator's clock units.

The simulator keeps every instant as integer milliseconds since the Unix epoch: the
protocol's precision, cheap to compare and to store for hundreds of thousands of events.
Timestamps that clients send are parsed strictly (RFC 3339 with an offset or `Z`), to
microseconds, because a server compares instants, not strings, and must answer 400 for
anything else rather than guess.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from channelport.domain.instants import format_instant

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

NEW = "Channel:Order.New"
STATUS = "Channel:Order.StatusUpdate"
ADDRESS = "Channel:Order.AddressUpdate"
CANCEL_ACCEPTED = "Channel:Order.CancellationAccepted"
CANCEL_DENIED = "Channel:Order.CancellationDenied"

KNOWN_TYPES: tuple[str, ...] = (NEW, STATUS, ADDRESS, CANCEL_ACCEPTED, CANCEL_DENIED)

CANCEL_REASONS: frozenset[str] = frozenset(
    {
        "BUYER_CANCELLED",
        "UNDELIVERABLE_TO_SHIPPING_ADDRESS",
        "UNDELIVERABLE_BY_CARRIER",
        "OUT_OF_STOCK",
        "DELAYED_INVENTORY",
        "PRICING_ERROR",
        "OTHER",
    }
)

ADDRESS_FIELDS: tuple[str, ...] = (
    "firstName",
    "lastName",
    "street",
    "houseNumber",
    "postcode",
    "city",
    "country",
    "phone",
    "companyName",
)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


class ProtocolError(ValueError):
    """A request that does not fit the protocol page: answered 400, nothing changed."""

    def __init__(self, message: str, code: str = "INVALID_REQUEST") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_timestamp_us(text: object) -> int:
    """RFC 3339 text -> microseconds since the epoch; ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"expected an RFC 3339 timestamp string, got {type(text).__name__}")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp with offset: {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    value = datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=UTC)  # may raise ValueError
    if match.group(8) is None:
        sign = 1 if match.group(9) == "+" else -1
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad offset in {text!r}")
        value -= sign * timedelta(hours=hours, minutes=minutes)
    return (value - EPOCH) // timedelta(microseconds=1)


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


@lru_cache(maxsize=8192)
def _day_text(day: int) -> str:
    return format_instant(EPOCH + timedelta(days=day))[:10]


def ms_to_text(ms: int) -> str:
    """The protocol's spelling of an instant: UTC, milliseconds, `Z` (as `format_instant`).

    Arithmetic instead of a datetime per call: the truth and every pulled page format
    hundreds of thousands of instants.
    """
    day, rest = divmod(ms, 86_400_000)
    seconds, milli = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_text(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}Z"


def us_to_text(us: int) -> str:
    """Echo an instant a client sent, keeping finer than millisecond precision if it had any."""
    value = EPOCH + timedelta(microseconds=us)
    if us % 1000:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return format_instant(value)


def datetime_to_ms(value: datetime) -> int:
    """An aware datetime -> epoch milliseconds (sub-millisecond parts are dropped)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the simulator needs timezone-aware datetimes (UTC)")
    return (value - EPOCH) // timedelta(milliseconds=1)


__all__ = [
    "ADDRESS",
    "ADDRESS_FIELDS",
    "CANCEL_ACCEPTED",
    "CANCEL_DENIED",
    "CANCEL_REASONS",
    "KNOWN_TYPES",
    "NEW",
    "STATUS",
    "ProtocolError",
    "datetime_to_ms",
    "ms_to_datetime",
    "ms_to_text",
    "parse_timestamp_us",
    "us_to_text",
]
