"""A long sync on PostgreSQL refreshes the planner's statistics of the tables it fills.

This machine's PostgreSQL runs without autovacuum, as some do: without the sync's own
ANALYZE, the tables a backfill fills from empty keep "never analysed" and the per-page
lookups were planned as scans of the whole table (the 100,000-order backfill ran at a
third of its speed).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from channelport.services import accounts as accounts_service
from channelport.services import sync as sync_module
from channelport.services.sync import sync_account
from channelport.store.db import HOT_TABLES, read_only

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
