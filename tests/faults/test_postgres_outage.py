"""PostgreSQL going away mid-sync, and coming back.

PostgreSQL sits behind a TCP proxy (tests/faults/tcp_proxy.py) that the test cuts while a
sync is between pulling a page and committing it: every open connection is reset and new
ones are refused, exactly what a client sees when the database host restarts or the
network fails. The machine's shared PostgreSQL is never stopped. Without PostgreSQL the
tests skip with the reason (fail under CI=true), through the `pg_url` fixture.

The sync fails cleanly (its caller gets reports, not an exception; what it could not
commit it did not acknowledge, so those events come again), a worker outlives the outage,
and the next sync ends with the export equal to the channel's truth.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import make_url, select

from channelport.services.runtime import open_runtime, utc_now
from channelport.services.worker import Worker, WorkerOptions
from channelport.store.db import read_only
from channelport.store.tables import sync_runs
from tests.faults.db_support import assert_exact, on_pull
from tests.faults.support import run_statuses, settle, sync_all, wait_for
from tests.faults.tcp_proxy import TcpProxy
from tests.sync.conftest import mismatches


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    """In front of the test PostgreSQL (pg_url skips, or fails under CI=true, without one)."""
    url = make_url(pg_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running  # closed (every connection reset) before pg_url drops the schema


@pytest.fixture
def database_url(pg_url: str, proxy: TcpProxy) -> str:
    return make_url(pg_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.mark.usefixtures("connected")
def test_postgresql_cut_off_mid_sync_fails_cleanly_and_the_next_sync_is_exact(rt, market, proxy, clock):
    market.advance(timedelta(days=8))  # several pages per account
    tap = on_pull(market, 2, proxy.cut)
    try:
        failed = sync_all(rt)  # must return reports, not raise
    finally:
        market.remove_tap(tap)
        proxy.restore()
    assert proxy.cuts == 1
    assert {r.status for r in failed.values()} == {"failed"}, failed
    assert all(r.error for r in failed.values())
    # The runs could not be closed while the database was away, nor the leases released:
    # the leases expire (lease_seconds), and the next sync closes the runs as interrupted.
    clock.current += timedelta(seconds=rt.settings.lease_seconds + 1)
    settle(market)
    again = sync_all(rt)
    assert {r.status for r in again.values()} == {"succeeded"}, again
    assert_exact(rt, market)
    assert "running" not in run_statuses(rt)


def test_worker_outlives_a_postgresql_outage_and_syncs_on_afterwards(rt, market, proxy, connected, monkeypatch):
    market.advance(timedelta(days=8))
    worker_rt = open_runtime(clock=utc_now)
    worker = Worker(worker_rt, WorkerOptions(interval=1, concurrency=2, poll=0.1))  # syncs again and again
    back = threading.Event()

    def outage() -> None:  # in the server's thread: cut now, restore 3 s later
        proxy.cut()
        threading.Timer(3.0, lambda: (proxy.restore(), back.set())).start()

    tap = on_pull(market, 2, outage)
    thread = threading.Thread(target=worker.run, name="worker-under-test")
    thread.start()
    try:
        assert back.wait(60), "the worker never pulled a second page"
        market.remove_tap(tap)
        settle(market)  # the crashed syncs' pages: visible again now instead of after the timeout

        def caught_up() -> bool:
            with read_only(rt.engine) as conn:
                statuses = list(conn.scalars(select(sync_runs.c.status).order_by(sync_runs.c.id)))
            return statuses.count("succeeded") >= 2 and not mismatches(rt, market, "S-1001", "shop-one") \
                and not mismatches(rt, market, "S-2002", "shop-two")

        assert wait_for(caught_up, timeout=60), run_statuses(rt)
        assert thread.is_alive(), "the worker ended when the database went away"
    finally:
        worker.request_stop()
        thread.join(timeout=60)
        worker_rt.close()
    assert not thread.is_alive()
    assert_exact(rt, market)


