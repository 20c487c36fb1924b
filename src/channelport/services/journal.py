"""What the sync journal shows beyond the CLI's list: one run by id, and the import timeline.

The timeline answers the merchant's question "is anything missing?" at a glance: orders
imported per hour or per day over the last weeks, with the failed syncs marked, so a
gap stands out and a request "from here" can be made from the spot where it starts.
Days are the account's local days, because that is the date the Import tab asks for.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from channelport.domain.instants import NonexistentLocalTime, local_to_utc, start_of_local_day, utc_to_local
from channelport.errors import NotFound, UsageError
from channelport.services.accounts import account_or_fail
from channelport.services.runtime import Runtime
from channelport.store import runs as runs_repo
from channelport.store import timeline as repo
from channelport.store.db import read_only

BUCKETS = ("day", "hour")


@dataclass(frozen=True)
class Bucket:
    start: datetime  # UTC
    local_start: datetime  # the same instant in the account's time zone
    count: int


@dataclass(frozen=True)
class FailedRun:
    id: int
    started_at: datetime
    local_started_at: datetime
    error: str | None


@dataclass(frozen=True)
class Timeline:
    account: str
    timezone: str
    bucket: str
    start: datetime
    end: datetime
    buckets: list[Bucket]
    failed: list[FailedRun]

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)

    @property
    def peak(self) -> int:
        return max((b.count for b in self.buckets), default=0)


def get_run(rt: Runtime, run_id: int) -> Any:
    with read_only(rt.engine) as conn:
        row = runs_repo.get_run(conn, run_id)
    if row is None:
        raise NotFound(f"no sync run {run_id}")
    return row


def import_timeline(rt: Runtime, name: str, *, days: int = 30, bucket: str = "day") -> Timeline:
    if bucket not in BUCKETS:
        raise UsageError(f"unknown bucket {bucket!r}; choose day or hour")
    if not 1 <= days <= 366:
        raise UsageError("days must lie between 1 and 366")
    now = rt.now()
    with read_only(rt.engine) as conn:
        account = account_or_fail(conn, name)
        starts = _bucket_starts(now, days, bucket, account.timezone)
        end = now
        imported = repo.imports_between(conn, account.id, since=starts[0], until=end + timedelta(microseconds=1))
        failed = repo.failed_runs_between(conn, account.id, since=starts[0], until=end + timedelta(microseconds=1))
    counts = [0] * len(starts)
    for at, n in imported:
        counts[bisect_right(starts, at) - 1] += n
    return Timeline(
        account=account.name,
        timezone=account.timezone,
        bucket=bucket,
        start=starts[0],
        end=end,
        buckets=[Bucket(s, utc_to_local(s, account.timezone), c) for s, c in zip(starts, counts, strict=True)],
        failed=[FailedRun(r.id, r.started_at, utc_to_local(r.started_at, account.timezone), r.error) for r in failed],
    )


def _bucket_starts(now: datetime, days: int, bucket: str, tz_name: str) -> list[datetime]:
    """Local midnights (or whole hours) from `days` days ago up to the current one, in UTC."""
    today = utc_to_local(now, tz_name).date()
    first_day = today - timedelta(days=days - 1)
    if bucket == "day":
        return [_local_midnight(first_day + timedelta(days=i), tz_name) for i in range(days)]
    first = _local_midnight(first_day, tz_name)
    hours = int((now - first).total_seconds() // 3600) + 1
    return [first + timedelta(hours=i) for i in range(hours)]


def _local_midnight(day: date, tz_name: str) -> datetime:
    """The day's first instant; where midnight falls into a DST gap, the first hour that exists."""
    for hour in range(3):
        try:
            return local_to_utc(day, time(hour, 0, 0), tz_name).utc
        except NonexistentLocalTime:
            continue
    return start_of_local_day(day, tz_name).utc
