"""PostgreSQL itself stopped mid-sync (as in a crash) and started again.

The test runs a server of its own (tests/faults/private_postgres.py): the machine's shared
one is never stopped. Stopped with `-m immediate` while a sync holds a page it has not
committed, the server drops every connection at once; the sync fails cleanly, nothing it
could not commit was acknowledged, and after the restart the next sync ends with the
export equal to the channel's truth. Where no PostgreSQL server binaries are installed
the test skips with the reason (fails under CI=true).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.faults.db_support import assert_exact, on_pull
from tests.faults.private_postgres import PrivatePostgres, server_binaries
from tests.faults.support import run_statuses, settle, sync_all


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = server_binaries()
    if bindir is None:
        reason = "no PostgreSQL server binaries under /usr/lib/postgresql (Debian's postgresql package)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    server = PrivatePostgres(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def database_url(private_postgres: PrivatePostgres) -> str:
    return private_postgres.url


@pytest.mark.usefixtures("connected")
def test_postgresql_stopped_mid_sync_and_restarted_the_next_sync_is_exact(rt, market, private_postgres, clock):
    market.advance(timedelta(days=8))  # several pages per account
    tap = on_pull(market, 2, private_postgres.stop)
    try:
        failed = sync_all(rt)  # must return reports, not raise
    finally:
        market.remove_tap(tap)
    assert "failed" in {r.status for r in failed.values()}, failed
    assert all("connect" in (r.error or "").lower() for r in failed.values() if r.status == "failed"), failed
    private_postgres.start()
    rt.engine.dispose()  # the pool's connections died with the server
    clock.current += timedelta(seconds=rt.settings.lease_seconds + 1)  # leases the failed syncs could not release
    settle(market)
    again = sync_all(rt)
    assert {r.status for r in again.values()} == {"succeeded"}, again
    assert_exact(rt, market)
    assert "running" not in run_statuses(rt)
