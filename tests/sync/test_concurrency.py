"""Two workers and a manual sync at once on PostgreSQL: one sync per account at a time.

Each worker gets its own engine (as separate processes on separate machines would); the
lease is the only coordination. The sync_runs journal must show no two runs of one
account overlapping, and the export must equal the channel's truth.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from channelport.services import accounts, event_imports, manual_sync
from channelport.services.orders import export_orders
from channelport.services.runtime import open_runtime
from channelport.services.verify import compare
from channelport.services.worker import Worker, WorkerOptions
from channelport.store.db import read_only
from channelport.store.tables import channel_accounts, sync_runs
from tests.sync.conftest import SELLERS


@pytest.fixture
def database_url(pg_url: str) -> str:  # PostgreSQL only: this is the scale-out setup
    return pg_url


def test_two_workers_and_a_manual_sync_never_sync_one_account_twice_at_once(rt, market, server, clock):
    from channelport.services.runtime import utc_now

    market.advance(timedelta(days=5))
    # a seller's queue has one consumer: one account per seller
    names = {f"acc-{i}": seller for i, seller in enumerate(SELLERS)}
    for name, seller in names.items():
        accounts.add_account(rt, name=name, kind="event-api", url=server.url, seller_id=seller,
                             token=SELLERS[seller], settings={"retry_deadline": "5"})
        event_imports.request_imports(rt, name, day=date(2026, 11, 1))

    runtimes = [open_runtime(clock=utc_now) for _ in range(3)]
    workers = [Worker(r, WorkerOptions(interval=0.3, concurrency=2, poll=0.05, max_cycles=60)) for r in runtimes[:2]]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    manual_reports = []
    for _ in range(4):
        manual_reports.extend(manual_sync.sync_accounts(runtimes[2], concurrency=2))
        market.advance(timedelta(hours=4))
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    manual_sync.sync_accounts(runtimes[2])  # a last pass after the last trading
    for r in runtimes:
        r.close()

    with read_only(rt.engine) as conn:
        runs = list(conn.execute(select(sync_runs, channel_accounts.c.name).join(
            channel_accounts, channel_accounts.c.id == sync_runs.c.account_id).order_by(sync_runs.c.started_at)))
    by_account: dict[str, list] = {}
    for run in runs:
        by_account.setdefault(run.name, []).append(run)
    owners = {run.owner.split(":")[0] for run in runs}
    assert {"worker", "manual"} <= owners, owners
    assert any(r.status == "busy" for r in manual_reports) or len(runs) > 8
    for name, account_runs in by_account.items():
        for earlier, later in zip(account_runs, account_runs[1:]):
            assert earlier.finished_at is not None
            assert earlier.finished_at <= later.started_at, f"{name}: runs {earlier.id} and {later.id} overlap"
    for name, seller in names.items():
        result = compare(export_orders(rt, accounts=[name]), market.truth(seller, account=name))
        assert result.exact, result.describe()
