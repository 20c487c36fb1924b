"""Sync runs: the sync journal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from channelport.store.tables import channel_accounts, sync_runs


def list_runs(conn: Connection, *, account_id: int | None = None, limit: int = 20) -> list[Any]:
    query = (
        select(sync_runs, channel_accounts.c.name.label("account"), channel_accounts.c.timezone)
        .join(channel_accounts, channel_accounts.c.id == sync_runs.c.account_id)
        .order_by(sync_runs.c.id.desc())
        .limit(limit)
    )
    if account_id is not None:
        query = query.where(sync_runs.c.account_id == account_id)
    return list(conn.execute(query))


def get_run(conn: Connection, run_id: int) -> Any | None:
    return conn.execute(
        select(sync_runs, channel_accounts.c.name.label("account"), channel_accounts.c.timezone)
        .join(channel_accounts, channel_accounts.c.id == sync_runs.c.account_id)
        .where(sync_runs.c.id == run_id)
    ).first()
