"""SQLite locked by another writer mid-sync: shorter, then longer than the busy timeout.

A second process takes SQLite's write lock (`BEGIN EXCLUSIVE`) while a sync is between
pulling a page and committing it. Held for less than the busy timeout, the sync waits and
succeeds; held for longer, the sync fails cleanly (reports, not an exception; nothing it
could not commit was acknowledged) and the next sync ends with the export equal to the
channel's truth.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.faults.db_support import assert_exact, on_pull
from tests.faults.support import run_statuses, settle, sync_all


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'channelport.db'}"


LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute("CREATE TABLE IF NOT EXISTS _locker_was_here (at REAL)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
print("released", flush=True)
"""


class Locker:
    """Another process that takes SQLite's write lock and holds it for `seconds`."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.proc: subprocess.Popen[str] | None = None

    def lock(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(self.path), str(self.seconds)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def wait(self) -> str:
        assert self.proc is not None
        out, _ = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0
        return out


@pytest.mark.usefixtures("connected")
def test_sqlite_locked_for_less_than_the_busy_timeout_the_sync_waits(rt, market, tmp_path):
    market.advance(timedelta(days=8))
    locker = Locker(tmp_path / "channelport.db", seconds=2.0)
    tap = on_pull(market, 2, locker.lock)
    try:
        reports = sync_all(rt)
    finally:
        market.remove_tap(tap)
    assert "released" in locker.wait()
    assert {r.status for r in reports.values()} == {"succeeded"}, reports
    assert_exact(rt, market)


@pytest.mark.usefixtures("connected")
def test_sqlite_locked_past_the_busy_timeout_fails_cleanly_and_the_next_sync_is_exact(rt, market, tmp_path, clock):
    """Production waits 60 s for a lock; this engine waits 0.3 s, so that a lock held
    longer (3 s) is the case under test without a minute of waiting. The extra listener
    runs after the engine's own and only lowers that one pragma."""

    @event.listens_for(rt.engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=300")

    rt.engine.dispose()
    market.advance(timedelta(days=8))
    locker = Locker(tmp_path / "channelport.db", seconds=3.0)
    tap = on_pull(market, 2, locker.lock)
    try:
        failed = sync_all(rt)  # must return reports, not raise
    finally:
        market.remove_tap(tap)
    assert "released" in locker.wait()
    assert "failed" in {r.status for r in failed.values()}, failed
    assert all("locked" in (r.error or "") for r in failed.values() if r.status == "failed"), failed
    clock.current += timedelta(seconds=rt.settings.lease_seconds + 1)  # leases the failed syncs could not release
    settle(market)
    event.remove(rt.engine, "connect", _short_busy_timeout)  # the real timeout again: the two accounts'
    rt.engine.dispose()  # syncs share the file, and 0.3 s is too short for each other's commits on a busy machine
    again = sync_all(rt)
    assert {r.status for r in again.values()} == {"succeeded"}, again
    assert_exact(rt, market)
    assert "running" not in run_statuses(rt)
