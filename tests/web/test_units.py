"""Pure pieces of the web layer: login throttling, the timeline's buckets and chart scale."""

from __future__ import annotations

from datetime import datetime, timezone

from channelport.domain.instants import utc_to_local
from channelport.services.journal import _bucket_starts
from channelport.web.pages.timeline_chart import nice_ceiling
from channelport.web.ratelimit import LoginThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_pauses_after_five_failures_then_forgets():
    clock = FakeClock()
    throttle = LoginThrottle(per_user=5, per_address=8, window=600, clock=clock)
    for _ in range(5):
        assert throttle.retry_after("Anna", "10.0.0.1") is None
        throttle.failed("Anna", "10.0.0.1")
    assert throttle.retry_after("anna ", "10.0.0.1") == 600  # names compare case- and space-insensitively
    assert throttle.retry_after("anna", "10.0.0.2") is None  # another address is not blocked
    clock.now += 601
    assert throttle.retry_after("anna", "10.0.0.1") is None


def test_throttle_limits_one_address_trying_many_names():
    throttle = LoginThrottle(per_user=5, per_address=8, window=600, clock=FakeClock())
    for n in range(8):
        throttle.failed(f"user{n}", "10.0.0.9")
    assert throttle.retry_after("someone-else", "10.0.0.9") is not None


def test_success_clears_the_users_failures():
    throttle = LoginThrottle(per_user=2, window=600, clock=FakeClock())
    throttle.failed("anna", "a")
    throttle.succeeded("anna", "a")
    throttle.failed("anna", "a")
    assert throttle.retry_after("anna", "a") is None


def test_day_buckets_are_local_midnights_across_the_clock_change():
    now = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)  # the window spans the end of summer time
    starts = _bucket_starts(now, 30, "day", "Europe/Berlin")
    local = [utc_to_local(s, "Europe/Berlin") for s in starts]
    assert len(starts) == 30 and all((t.hour, t.minute) == (0, 0) for t in local)
    assert local[0].date().isoformat() == "2026-10-07" and local[-1].date().isoformat() == "2026-11-05"
    hours = _bucket_starts(now, 2, "hour", "Europe/Berlin")
    assert len(hours) == 24 + 13 + 1 and hours[-1] <= now


def test_chart_scale_is_round():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 50, 51, 480)] == [1, 1, 5, 10, 20, 50, 100, 500]
