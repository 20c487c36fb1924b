"""Workers under disturbance: restarted mid-backfill; two workers and the web's "Sync now" at once.

1. A `channelport worker run` process is asked to restart (`channelport worker restart`,
   the real CLI) while it is in the middle of a long backfill: it finishes the batch in
   hand, closes the run as stopped, releases the lease, starts again (the same process,
   execv) and completes the backfill; the export equals the truth.
2. On PostgreSQL, two workers (each its own engine, as on two machines) and the web
   application's "Sync now" (`POST /api/v1/syncs`, its own engine too) sync the same
   accounts while the channel trades: the lease lets one sync per account run at a time
   (the journal shows no overlap), the web reports the accounts it could not take as
   busy, and the export equals the truth.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channelport.services import accounts, event_imports, users
from channelport.services.runtime import open_runtime, utc_now
from channelport.services.worker import Worker, WorkerOptions, worker_status
from channelport.store.db import read_only
from channelport.store.tables import channel_accounts, sync_runs
from channelport.web import create_app
from channelport.web.ratelimit import LoginThrottle
from tests.faults.support import NAMES, channelport_cmd, received_count, wait_for
from tests.ops.test_scale import overlaps, runs
from tests.sync.conftest import SELLERS, mismatches


def all_exact(rt, market) -> bool:  # type: ignore[no-untyped-def]
    return all(not mismatches(rt, market, seller, name) for name, seller in NAMES.items())


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """SQLite unless a test asks for PostgreSQL (`indirect` parametrization)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'channelport.db'}"


@pytest.mark.usefixtures("connected")
def test_worker_restarted_mid_backfill_completes_it(rt, market, tmp_path):
    market.advance(timedelta(days=40))  # a backfill of several pages per account
    # Every answer slow, so that the backfill lasts long enough to be caught in. A page costs
    # a pull and its acknowledgements, several at once beside the next pull: about three
    # answers' time (connectors/event_api.py).
    market.faults.set(delay_seconds=1.0)
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(channelport_cmd("worker", "run", "--interval", "2", "--concurrency", "2"),
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert wait_for(lambda: received_count(rt) > 0, timeout=60), "the backfill never started"
        first_worker = wait_for(lambda: worker_status(rt) and worker_status(rt)[0].id, timeout=30)
        asked = subprocess.run(channelport_cmd("worker", "restart"), capture_output=True, text=True, timeout=60)
        assert asked.returncode == 0 and "Restart requested for 1" in asked.stdout, asked.stdout + asked.stderr
        assert not all_exact(rt, market), "the backfill was over before the restart: nothing was proven"
        restarted = wait_for(lambda: {w.id for w in worker_status(rt) if w.alive} - {first_worker}, timeout=60)
        assert restarted, "no new worker registered after the restart"
        market.faults.reset()
        assert wait_for(lambda: all_exact(rt, market), timeout=120, step=1.0), "the restarted worker did not finish"
        assert proc.poll() is None, "the restart ended the process instead of restarting it"
    finally:
        market.faults.reset()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    output = (tmp_path / "worker.log").read_text()
    assert "Restarting as requested." in output, output[-2000:]
    statuses = [r.status for r in runs(rt)]
    assert "stopped" in statuses, f"no run was stopped mid-backfill by the restart: {statuses}"
    assert "running" not in statuses


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_and_the_webs_sync_now_at_once_on_postgresql(rt, market, server):
    market.advance(timedelta(days=5))
    for name, seller in NAMES.items():
        accounts.add_account(rt, name=name, kind="event-api", url=server.url, seller_id=seller,
                             token=SELLERS[seller], settings={"retry_deadline": "5"})
        event_imports.request_imports(rt, name, day=date(2026, 11, 1))
    token = users.create_token(rt, name="faults")
    worker_rts = [open_runtime(clock=utc_now) for _ in range(2)]
    workers = [Worker(r, WorkerOptions(interval=2, concurrency=2, poll=0.05)) for r in worker_rts]
    threads = [threading.Thread(target=w.run, name=f"worker-{i}") for i, w in enumerate(workers)]
    web_rt = open_runtime(clock=utc_now)
    web_statuses: list[str] = []
    try:
        for t in threads:
            t.start()
        with TestClient(create_app(web_rt, sync_concurrency=2, throttle=LoginThrottle())) as web:
            web.headers["Authorization"] = f"Bearer {token}"
            for round_no in range(40):  # until the web has synced, and been refused, at least once each
                started = web.post("/api/v1/syncs")
                assert started.status_code == 202, started.text
                batch_id = started.json()["id"]
                done = wait_for(lambda: (b := web.get(f"/api/v1/syncs/{batch_id}").json())["done"] and b, timeout=60)
                assert done, "a web sync never finished"
                web_statuses += [e["status"] for e in done["accounts"]]
                market.advance(timedelta(hours=3))
                if round_no == 3:  # a replay in the middle: long syncs, more contention
                    for name in NAMES:
                        event_imports.request_imports(rt, name, day=date(2026, 11, 2))
                if round_no >= 6 and {"succeeded", "busy"} <= set(web_statuses):
                    break
                time.sleep(0.2)

        def caught_up() -> bool:
            return all_exact(rt, market)

        assert wait_for(caught_up, timeout=90, step=0.5), "the workers never caught up with the channel"
    finally:
        for w in workers:
            w.request_stop()
        for t in threads:
            t.join(timeout=60)
        for r in [*worker_rts, web_rt]:
            r.close()
    assert not any(t.is_alive() for t in threads)
    all_runs = runs(rt)
    assert overlaps(all_runs) == []
    owners = {run.owner.split(":")[0] for run in all_runs}
    assert {"worker", "web"} <= owners, owners
    assert {"succeeded", "busy"} <= set(web_statuses) <= {"succeeded", "busy"}, web_statuses
    with read_only(rt.engine) as conn:
        assert set(conn.scalars(select(channel_accounts.c.lease_owner))) == {None}
    assert "running" not in {r.status for r in all_runs}
    assert all_exact(rt, market)
