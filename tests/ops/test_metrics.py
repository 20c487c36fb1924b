"""Prometheus metrics: counted from real syncs against the simulator, gauges read from the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from channelport import metrics
from channelport.services import accounts, manual_sync
from channelport.services.runtime import Runtime
from channelport.services.sync import sync_account
from channelport.settings import Settings
from channelport.store import accounts as accounts_repo
from channelport.store import workers as workers_repo
from channelport.store.db import make_engine, unit_of_work
from channelport.store.tables import received_events
from tests.ops.conftest import samples, value

ACCOUNTS = ("shop-one", "shop-two")


def scrape(rt):  # type: ignore[no-untyped-def]
    body, content_type = metrics.render_metrics(rt)
    assert content_type.startswith("text/plain")
    return samples(body)


def delta(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return (value(after, name, **labels) or 0.0) - (value(before, name, **labels) or 0.0)


def test_every_sync_is_counted_by_account_result_event_type_and_outcome(connected, market):
    rt = connected
    market.advance(timedelta(days=2))
    before = scrape(rt)
    reports = manual_sync.sync_accounts(rt)
    after = scrape(rt)

    assert [r.status for r in reports] == ["succeeded", "succeeded"]
    for report in reports:
        assert delta(before, after, "channelport_syncs_total", account=report.account, result="succeeded") == 1
        assert delta(before, after, "channelport_sync_duration_seconds_count", account=report.account) == 1
        assert report.counts["order"]["applied"] > 0
        for event_type, per_outcome in report.counts.items():
            for outcome, n in per_outcome.items():
                assert delta(before, after, "channelport_events_total", account=report.account,
                             type=event_type, outcome=outcome) == n, (event_type, outcome)
    assert value(after, "channelport_build_info", version=metrics.__version__) == 1


def test_busy_and_skipped_syncs_are_counted_too(connected):
    rt = connected
    one = accounts.get_account(rt, "shop-one")
    with unit_of_work(rt.engine) as conn:
        assert accounts_repo.take_lease(conn, one.id, owner="someone-else", now=rt.now(),
                                        until=rt.now() + timedelta(minutes=5))
    accounts.lock_account(rt, "shop-two", reason="stocktaking")
    before = scrape(rt)
    assert sync_account(rt, one, trigger="manual").status == "busy"
    assert sync_account(rt, accounts.get_account(rt, "shop-two"), trigger="manual").status == "skipped"
    after = scrape(rt)
    assert delta(before, after, "channelport_syncs_total", account="shop-one", result="busy") == 1
    assert delta(before, after, "channelport_syncs_total", account="shop-two", result="skipped") == 1
    assert value(after, "channelport_account_syncing", account="shop-one") == 1
    assert value(after, "channelport_account_locked", account="shop-two") == 1
    assert value(after, "channelport_account_locked", account="shop-one") == 0


def test_lag_pending_requests_and_events_needing_attention_are_read_from_the_database(connected, market, clock):
    rt = connected
    market.advance(timedelta(days=1))
    market.inject_unknown_event("S-1001")
    found = scrape(rt)
    assert value(found, "channelport_database_up") == 1
    for name in ACCOUNTS:  # requested in the fixture, never synced: lag counts from the account's creation
        assert value(found, "channelport_account_pending_imports", account=name) == 5
        assert value(found, "channelport_account_lag_seconds", account=name) == 0
        assert value(found, "channelport_account_last_success_timestamp_seconds", account=name) is None

    clock.current += timedelta(minutes=10)
    manual_sync.sync_accounts(rt, names=["shop-one"])
    synced_at = clock.current
    clock.current += timedelta(hours=2)
    found = scrape(rt)
    assert value(found, "channelport_account_lag_seconds", account="shop-one") == 7200
    assert value(found, "channelport_account_last_success_timestamp_seconds", account="shop-one") == \
        synced_at.timestamp()
    assert value(found, "channelport_account_lag_seconds", account="shop-two") == 7800  # never synced
    assert value(found, "channelport_account_pending_imports", account="shop-one") == 0
    assert value(found, "channelport_account_pending_imports", account="shop-two") == 5
    assert value(found, "channelport_unknown_events", account="shop-one") == 1
    assert value(found, "channelport_parked_events", account="shop-one") == 0

    # a parked event (an update whose order has not arrived) shows up per account
    with unit_of_work(rt.engine) as conn:
        conn.execute(insert(received_events).values(
            account_id=accounts.get_account(rt, "shop-two").id, event_id="ev-parked-1", wire_type="order.status",
            event_type="status", order_id="NOT-YET", created_at=clock.current, received_at=clock.current,
            outcome="parked", raw="{}", normalized={},
        ))
    found = scrape(rt)
    assert value(found, "channelport_parked_events", account="shop-two") == 1
    assert value(found, "channelport_parked_events", account="shop-one") == 0


def test_worker_heartbeat_age_and_worker_states(rt, clock):
    now = clock.current
    with unit_of_work(rt.engine) as conn:
        workers_repo.register(conn, worker_id="host-a:1:aaaaaa", host="host-a", pid=1, now=now - timedelta(seconds=12))
        workers_repo.register(conn, worker_id="host-b:2:bbbbbb", host="host-b", pid=2, now=now - timedelta(minutes=5))
        workers_repo.register(conn, worker_id="host-c:3:cccccc", host="host-c", pid=3, now=now - timedelta(hours=1))
        workers_repo.heartbeat(conn, "host-c:3:cccccc", now=now - timedelta(hours=1), doing=None, state="stopped")
        workers_repo.register(conn, worker_id="host-d:4:dddddd", host="host-d", pid=4, now=now - timedelta(hours=2))
    found = scrape(rt)
    assert value(found, "channelport_worker_heartbeat_age_seconds", worker="host-a:1:aaaaaa", host="host-a") == 12
    assert value(found, "channelport_worker_heartbeat_age_seconds", worker="host-b:2:bbbbbb", host="host-b") == 300
    assert value(found, "channelport_worker_heartbeat_age_seconds", worker="host-c:3:cccccc", host="host-c") is None
    assert value(found, "channelport_workers", state="running") == 1
    assert value(found, "channelport_workers", state="stale") == 1
    assert value(found, "channelport_workers", state="stopped") == 1
    assert value(found, "channelport_workers", state="gone") == 1  # killed two hours ago, never said goodbye
    assert value(found, "channelport_worker_heartbeat_age_seconds", worker="host-d:4:dddddd", host="host-d") is None


def test_heartbeats_are_counted_in_the_worker_process():
    before = samples(metrics.render_metrics(_unreachable())[0])
    metrics.observe_heartbeat(running=3)
    after = samples(metrics.render_metrics(_unreachable())[0])
    assert delta(before, after, "channelport_worker_heartbeats_total") == 1
    assert value(after, "channelport_worker_running_syncs") == 3
    assert (value(after, "channelport_worker_last_heartbeat_timestamp_seconds") or 0) > 0


def test_a_database_that_does_not_answer_is_reported_not_raised():
    found = samples(metrics.render_metrics(_unreachable())[0])
    assert value(found, "channelport_database_up") == 0
    assert not any(name.startswith("channelport_account_") for name, _labels in found)


def test_openmetrics_when_asked_for(rt):
    body, content_type = metrics.render_metrics(rt, accept="application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def _unreachable() -> Runtime:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    return Runtime(settings=settings, engine=make_engine(settings.effective_database_url))
