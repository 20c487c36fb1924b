"""The worker: syncs due accounts, wakes on a request, stops cleanly, restarts on request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from channelport.services import accounts, event_imports
from channelport.services.runtime import open_runtime, utc_now
from channelport.services.worker import Worker, WorkerOptions, request_restart, worker_status
from channelport.store.db import read_only
from channelport.store.tables import channel_accounts, sync_runs
from tests.sync.conftest import mismatches

pytestmark = pytest.mark.usefixtures("connected")


def runs_of(rt) -> list:  # type: ignore[no-untyped-def]
    with read_only(rt.engine) as conn:
        return list(conn.execute(select(sync_runs).order_by(sync_runs.c.id)))


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_worker_syncs_due_accounts_and_wakes_on_a_request(rt, market):
    market.advance(timedelta(days=1))
    accounts.lock_account(rt, "shop-two", reason="stocktaking")
    worker_rt = open_runtime(clock=utc_now)
    worker = Worker(worker_rt, WorkerOptions(interval=3600, concurrency=2, poll=0.1))
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        assert wait_for(lambda: any(r.status == "succeeded" for r in runs_of(rt)))
        assert mismatches(rt, market, "S-1001", "shop-one") == []
        first = len(runs_of(rt))
        time.sleep(1.0)
        assert len(runs_of(rt)) == first, "an account synced within its interval is not due"
        # a new request wakes the worker at once, although the interval is an hour
        market.advance(timedelta(hours=8))
        event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
        assert wait_for(lambda: len(runs_of(rt)) > first and runs_of(rt)[-1].status == "succeeded")
        assert mismatches(rt, market, "S-1001", "shop-one") == []
        status = worker_status(open_runtime(clock=utc_now))
        assert status and status[0].alive
    finally:
        worker.request_stop()
        thread.join(timeout=60)
        worker_rt.close()
    assert not thread.is_alive()
    with read_only(rt.engine) as conn:
        assert conn.scalar(select(channel_accounts.c.lease_owner).where(channel_accounts.c.name == "shop-one")) is None
    locked_runs = [r for r in runs_of(rt) if r.account_id == accounts.get_account(rt, "shop-two").id]
    assert locked_runs == [], "the worker leaves a locked account alone"


def test_restart_request_stops_the_worker_for_a_restart(rt, market):
    worker_rt = open_runtime(clock=utc_now)
    worker = Worker(worker_rt, WorkerOptions(interval=3600, concurrency=1, poll=0.1))
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(worker.run()))
    thread.start()
    try:
        assert wait_for(lambda: bool(worker_status(worker_rt)))
        assert request_restart(worker_rt) == 1
        thread.join(timeout=60)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
        worker_rt.close()
    assert result == [True]
    assert worker_status(rt)[0].state == "stopped"


def test_sigterm_finishes_the_batch_and_releases_the_lease(rt, market, home):
    market.advance(timedelta(days=4))
    proc = subprocess.Popen([sys.executable, "-m", "channelport", "worker", "run", "--interval", "3600"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    assert wait_for(lambda: any(r.events > 0 for r in runs_of(rt)), timeout=60)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "stopped" in output
    with read_only(rt.engine) as conn:
        owners = list(conn.scalars(select(channel_accounts.c.lease_owner)))
    assert owners == [None, None]
    assert all(r.status in ("succeeded", "stopped") and r.finished_at for r in runs_of(rt))
