"""A long sync on PostgreSQL refreshes the planner's statistics of the tables it fills.

This machine's PostgreSQL runs without autovacuum, as some do: without the sync's own
ANALYZE, the tables a backfill fills from empty keep "never analysed" and the per-page
lookups were planned as scans of the whole table (the 100,000-order backfill ran at a
third of its speed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from channelport.services import accounts as accounts_service
from channelport.services import sync as sync_module
from channelport.services.sync import sync_account
from channelport.store.db import (
    HOT_TABLES,
    STALE_ROWS,
    STALE_SHARE,
    read_only,
    refresh_statistics,
    stale_tables,
    unit_of_work,
)

pytestmark = pytest.mark.usefixtures("connected")


def _analysed(conn) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    rows = conn.exec_driver_sql(
        "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema()"
    ).fetchall()
    return {name: done for name, done in rows if name in HOT_TABLES}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite keeps no statistics to refresh
def test_a_sync_of_many_pages_analyses_the_tables_it_fills(rt, market, monkeypatch):
    assert rt.engine.dialect.name == "postgresql"
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 5)
    with read_only(rt.engine) as conn:
        assert not any(_analysed(conn).values())
    market.advance(timedelta(days=1))
    report = sync_account(rt, accounts_service.get_account(rt, "shop-one"), trigger="manual")
    assert report.status == "succeeded" and report.events > 10 * 5, report
    with read_only(rt.engine) as conn:
        assert _analysed(conn) == dict.fromkeys(HOT_TABLES, True)


Counts = dict[str, tuple[int, int]]


def _counts(conn) -> Counts:  # type: ignore[no-untyped-def]
    """(ANALYZE runs, rows changed since the last) per hot table."""
    rows = conn.exec_driver_sql(
        "SELECT relname, analyze_count, n_mod_since_analyze FROM pg_stat_user_tables"
        " WHERE schemaname = current_schema()"
    ).fetchall()
    return {name: (runs, changed) for name, runs, changed in rows if name in HOT_TABLES}


def _counts_once(engine, ready: Callable[[Counts], bool]) -> Counts:  # type: ignore[no-untyped-def]
    """The counts once `ready` holds: a backend reports its statistics within a second or so, not at once."""
    deadline = time.monotonic() + 30
    while True:
        with read_only(engine) as conn:
            counts = _counts(conn)
        if ready(counts) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_only_the_tables_changed_by_a_fifth_since_their_last_analyze_are_analysed_again(rt, market):
    market.advance(timedelta(days=1))
    assert sync_account(rt, accounts_service.get_account(rt, "shop-one"), trigger="manual").status == "succeeded"
    with unit_of_work(rt.engine) as conn:
        conn.exec_driver_sql(f"ANALYZE {', '.join(HOT_TABLES)}")
    with unit_of_work(rt.engine) as conn:
        assert refresh_statistics(conn) == ()  # nothing changed since
        logged = conn.exec_driver_sql("SELECT count(*) FROM received_events").scalar_one()
        account_id = conn.exec_driver_sql("SELECT min(account_id) FROM received_events").scalar_one()
    # What a request again from a date writes: log rows, and nothing else.
    added = STALE_ROWS + int(STALE_SHARE * logged) + 1
    with unit_of_work(rt.engine) as conn:
        conn.exec_driver_sql(
            "INSERT INTO received_events (account_id, event_id, wire_type, received_at, outcome, raw)"
            " SELECT %s, 'again-' || n, 'Channel:Order.New', now(), 'duplicate', '' FROM generate_series(1, %s) AS n",
            (account_id, added),
        )
    before = _counts_once(rt.engine, lambda counts: counts["received_events"][1] >= added)
    assert before["received_events"][1] >= added
    with unit_of_work(rt.engine) as conn:
        assert refresh_statistics(conn) == ("received_events",)
    after = _counts_once(rt.engine, lambda counts: counts["received_events"][0] > before["received_events"][0])
    assert after["received_events"][0] == before["received_events"][0] + 1
    assert {name: runs for name, (runs, _) in after.items() if name != "received_events"} == {
        name: runs for name, (runs, _) in before.items() if name != "received_events"
    }


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_where_postgresql_counts_no_changes_every_table_is_analysed(rt):
    with unit_of_work(rt.engine) as conn:
        conn.exec_driver_sql(f"ANALYZE {', '.join(HOT_TABLES)}")
        assert stale_tables(conn) == ()
        conn.exec_driver_sql("SET LOCAL track_counts = off")  # a superuser's setting; the tests connect as one
        assert stale_tables(conn) == HOT_TABLES
