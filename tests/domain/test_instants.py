"""Local "import from" times to UTC and back, across DST transitions in several zones."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channelport.domain.instants import NonexistentLocalTime, format_instant, local_to_utc, parse_instant, utc_to_local

ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
times = st.times()


@settings(max_examples=400, deadline=None)
@given(day=days, at=times, tz=st.sampled_from(ZONES))
def test_local_time_round_trips_or_is_refused(day, at, tz):
    try:
        resolved = local_to_utc(day, at, tz)
    except NonexistentLocalTime:
        # In a gap: the wall time before and after differ by the jump, so it truly is absent.
        naive = datetime.combine(day, at)
        assert all(
            utc_to_local(instant, tz).replace(tzinfo=None) != naive
            for instant in _candidates(naive)
        )
        return
    local = utc_to_local(resolved.utc, tz)
    assert local.replace(tzinfo=None) == datetime.combine(day, at)
    if resolved.ambiguous:
        # the earlier instant: one hour (or the zone's shift) later shows the same wall time too
        later = [c for c in _candidates(datetime.combine(day, at)) if c > resolved.utc
                 and utc_to_local(c, tz).replace(tzinfo=None) == datetime.combine(day, at)]
        assert later, "an ambiguous time has a later twin"


def _candidates(naive: datetime) -> list[datetime]:
    base = naive.replace(tzinfo=timezone.utc)
    return [base + timedelta(minutes=15 * k) for k in range(-4 * 15, 4 * 15)]


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected"),
    [
        ("Europe/Berlin", date(2026, 3, 29), time(1, 59, 59), datetime(2026, 3, 29, 0, 59, 59, tzinfo=timezone.utc)),
        ("Europe/Berlin", date(2026, 3, 29), time(3, 0), datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)),
        ("Europe/Berlin", date(2026, 10, 25), time(2, 0), datetime(2026, 10, 25, 0, 0, tzinfo=timezone.utc)),
        ("America/New_York", date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)),
    ],
)
def test_known_transitions(tz, day, at, expected):
    assert local_to_utc(day, at, tz).utc == expected


@pytest.mark.parametrize(("tz", "day", "at"), [("Europe/Berlin", date(2026, 3, 29), time(2, 0)),
                                              ("America/New_York", date(2026, 3, 8), time(2, 30))])
def test_gap_is_refused_with_a_message(tz, day, at):
    with pytest.raises(NonexistentLocalTime, match="does not exist"):
        local_to_utc(day, at, tz)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(timezone.utc)))
def test_rfc3339_round_trip_at_millisecond_precision(value):
    value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    assert parse_instant(format_instant(value)) == value


def test_parse_refuses_a_timestamp_without_offset():
    with pytest.raises(ValueError, match="offset"):
        parse_instant("2026-11-20T08:15:02")
