"""The sync engine end to end: real simulator over HTTP, real database, export == truth."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from channelport.services import accounts, event_imports, manual_sync
from channelport.services.sync import sync_account
from channelport.store.db import read_only
from channelport.store.tables import orders, received_events, sync_runs
from tests.sync.conftest import exported, mismatches

pytestmark = pytest.mark.usefixtures("connected")


def sync_all(rt):  # type: ignore[no-untyped-def]
    return {r.account: r for r in manual_sync.sync_accounts(rt, concurrency=2)}


def test_backfill_from_a_date_equals_the_truth(rt, market):
    market.advance(timedelta(days=3))
    reports = sync_all(rt)
    assert {r.status for r in reports.values()} == {"succeeded"}
    assert reports["shop-one"].total("applied") > 100
    assert mismatches(rt, market, "S-1001", "shop-one") == []
    assert mismatches(rt, market, "S-2002", "shop-two") == []
    rows = {r.event.value if hasattr(r, "event") else r["event"]: r for r in
            [row.as_json() for row in event_imports.show_imports(rt, "shop-one")]}
    assert not any(r["pending"] for r in rows.values())
    assert all(r["fromUtc"] == "2026-10-31T23:00:00Z" for r in rows.values())


def test_repeated_request_imports_nothing_twice(rt, market):
    market.advance(timedelta(days=2))
    sync_all(rt)
    before = exported(rt, "shop-one")
    event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
    again = sync_all(rt)["shop-one"]
    assert again.status == "succeeded" and again.events > 0
    assert again.total("applied") == 0
    assert exported(rt, "shop-one") == before
    with read_only(rt.engine) as conn:
        assert conn.scalar(select(func.count()).select_from(orders)) == len(before) + len(exported(rt, "shop-two"))


def test_trading_between_syncs_brings_updates(rt, market):
    for _ in range(4):
        market.advance(timedelta(hours=17))
        sync_all(rt)
    assert mismatches(rt, market, "S-1001", "shop-one") == []


def test_lost_events_come_back_after_a_request_from_the_outage_day(rt, market):
    market.advance(timedelta(days=2))
    sync_all(rt)
    outage_start = market.now
    market.faults.set(lose_probability=1.0)
    market.advance(timedelta(days=1))
    market.faults.reset()
    market.advance(timedelta(hours=6))
    sync_all(rt)
    assert mismatches(rt, market, "S-1001", "shop-one"), "the lost day must be visible as a gap first"
    day = (outage_start + timedelta(hours=1)).astimezone().date()
    event_imports.request_imports(rt, "shop-one", day=outage_start.date())
    sync_all(rt)
    assert mismatches(rt, market, "S-1001", "shop-one") == []


def test_locked_and_inactive_accounts_are_skipped(rt, market):
    market.advance(timedelta(days=1))
    accounts.lock_account(rt, "shop-two", reason="inventory")
    reports = sync_all(rt)
    assert reports["shop-two"].status == "skipped" and "inventory" in reports["shop-two"].error
    assert exported(rt, "shop-two") == []
    accounts.unlock_account(rt, "shop-two")
    accounts.set_active(rt, "shop-two", active=False)
    assert sync_all(rt)["shop-two"].status == "skipped"


def test_rejected_credentials_fail_loudly_and_others_go_on(rt, market):
    market.advance(timedelta(days=1))
    market.faults.set(expired_sellers=["S-2002"])
    reports = sync_all(rt)
    assert reports["shop-two"].status == "failed" and "credentials rejected" in reports["shop-two"].error
    assert reports["shop-one"].status == "succeeded"
    assert accounts.get_account(rt, "shop-two").status == "credentials rejected"
    market.faults.reset()
    assert sync_all(rt)["shop-two"].status == "succeeded"
    assert accounts.get_account(rt, "shop-two").status == "active"


def test_a_pending_request_survives_a_failed_subscribe(rt, market):
    market.faults.set(outage=True)
    report = sync_all(rt)["shop-one"]
    assert report.status == "failed"
    assert all(row.pending for row in event_imports.show_imports(rt, "shop-one"))
    market.faults.reset()
    market.advance(timedelta(hours=12))
    assert sync_all(rt)["shop-one"].status == "succeeded"
    assert not any(row.pending for row in event_imports.show_imports(rt, "shop-one"))
    assert mismatches(rt, market, "S-1001", "shop-one") == []


def test_sync_runs_record_counts(rt, market):
    market.advance(timedelta(days=1))
    report = sync_all(rt)["shop-one"]
    with read_only(rt.engine) as conn:
        run = conn.execute(select(sync_runs).where(sync_runs.c.id == report.run_id)).one()
        logged = conn.scalar(select(func.count()).select_from(received_events))
    assert run.status == "succeeded" and run.trigger == "manual" and run.finished_at is not None
    assert run.counts["order"]["applied"] == len(exported(rt, "shop-one"))
    assert logged >= report.events


def test_a_busy_account_is_reported_busy(rt, market):
    from channelport.store import accounts as repo
    from channelport.store.db import unit_of_work

    account = accounts.get_account(rt, "shop-one")
    now = rt.now()
    with unit_of_work(rt.engine) as conn:
        assert repo.take_lease(conn, account.id, owner="someone-else", now=now, until=now + timedelta(minutes=5))
    assert sync_account(rt, account, trigger="cli").status == "busy"
