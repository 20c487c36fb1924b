"""Timestamps on the wire: strict RFC 3339 in, the protocol's spelling out."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from channelport.domain.instants import format_instant
from channelport.simulator.wire import ms_to_text, parse_timestamp_us, us_to_text

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-19T23:00:00Z", datetime(2026, 11, 19, 23, tzinfo=timezone.utc)),
        ("2026-11-19T23:00:00.1Z", datetime(2026, 11, 19, 23, 0, 0, 100000, tzinfo=timezone.utc)),
        ("2026-11-19T23:00:00.123456789Z", datetime(2026, 11, 19, 23, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2026-11-20T00:00:00+01:00", datetime(2026, 11, 19, 23, tzinfo=timezone.utc)),
        ("2026-11-19T17:30:00-05:30", datetime(2026, 11, 19, 23, tzinfo=timezone.utc)),
        ("2026-11-19t23:00:00z", datetime(2026, 11, 19, 23, tzinfo=timezone.utc)),
    ],
)
def test_rfc3339_instants_are_parsed_to_microseconds(text: str, expected: datetime) -> None:
    assert parse_timestamp_us(text) == _us(expected)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-19",
        "2026-11-19T23:00:00",
        "2026-11-19 23:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-19T24:00:00Z",
        "2026-11-19T23:00:00+25:00",
        "2026-11-19T23:00Z",
        "20261119T230000Z",
        " 2026-11-19T23:00:00Z",
        "now",
        "",
        17,
    ],
)
def test_anything_else_is_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp_us(text)


def test_instants_are_written_like_format_instant() -> None:
    rng = random.Random(5)
    for ms in [0, 999, 86_399_999] + [rng.randrange(4_102_444_800_000) for _ in range(2000)]:
        assert ms_to_text(ms) == format_instant(EPOCH + timedelta(milliseconds=ms))


def test_echoed_instants_keep_finer_precision_only_when_there_is_some() -> None:
    assert us_to_text(_us(datetime(2026, 11, 19, 23, tzinfo=timezone.utc))) == "2026-11-19T23:00:00.000Z"
    assert (
        us_to_text(_us(datetime(2026, 11, 19, 23, 0, 0, 123456, tzinfo=timezone.utc))) == "2026-11-19T23:00:00.123456Z"
    )
