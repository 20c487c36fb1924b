"""Reads for the import timeline: when orders were imported, and which syncs failed.

Every order of one sync batch gets the same `imported_at`, so grouping by that column
returns one row per batch, not one per order: cheap on both backends without any
dialect-specific date function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from channelport.store.tables import orders, sync_runs


def imports_between(conn: Connection, account_id: int, *, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    query = (
        select(orders.c.imported_at, func.count())
        .where(orders.c.account_id == account_id, orders.c.imported_at >= since, orders.c.imported_at < until)
        .group_by(orders.c.imported_at)
        .order_by(orders.c.imported_at)
    )
    return [(row[0], int(row[1])) for row in conn.execute(query)]


def failed_runs_between(conn: Connection, account_id: int, *, since: datetime, until: datetime) -> list[Any]:
    return list(
        conn.execute(
            select(sync_runs.c.id, sync_runs.c.started_at, sync_runs.c.finished_at, sync_runs.c.error)
            .where(
                sync_runs.c.account_id == account_id,
                sync_runs.c.status == "failed",
                sync_runs.c.started_at >= since,
                sync_runs.c.started_at < until,
            )
            .order_by(sync_runs.c.started_at)
        )
    )
