"""Worker rows: heartbeats, what each worker is doing, restart requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from channelport.store.tables import channel_accounts, event_imports, workers


def register(conn: Connection, *, worker_id: str, host: str, pid: int, now: datetime) -> None:
    conn.execute(
        insert(workers).values(
            id=worker_id, host=host, pid=pid, started_at=now, heartbeat_at=now, state="running",
            doing=None, restart_requested=False,
        )
    )


def heartbeat(conn: Connection, worker_id: str, *, now: datetime, doing: str | None, state: str = "running") -> bool:
    """Record life; returns whether a restart was requested for this worker."""
    conn.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now, doing=doing, state=state))
    return bool(conn.scalar(select(workers.c.restart_requested).where(workers.c.id == worker_id)))


def request_restart(conn: Connection, *, alive_since: datetime) -> int:
    return conn.execute(
        update(workers)
        .where(workers.c.state == "running", workers.c.heartbeat_at >= alive_since)
        .values(restart_requested=True)
    ).rowcount


def list_workers(conn: Connection) -> list[Any]:
    return list(conn.execute(select(workers).order_by(workers.c.started_at.desc())))


def change_marker(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever an account or an import request changes: the worker wakes on it."""
    return tuple(
        conn.execute(
            select(
                func.max(channel_accounts.c.updated_at),
                func.count(channel_accounts.c.id),
                select(func.max(event_imports.c.requested_at)).scalar_subquery(),
            )
        ).one()
    )


def due_account_ids(conn: Connection, *, now: datetime, synced_before: datetime) -> list[int]:
    """Active, unlocked, not leased, and either never/long ago synced, stopped before the
    channel was drained (a restart mid-backfill must not wait an interval to go on), or
    with a request waiting."""
    c = channel_accounts.c
    pending = select(event_imports.c.account_id).where(event_imports.c.pending.is_(True))
    return list(
        conn.scalars(
            select(c.id)
            .where(
                c.active.is_(True),
                c.locked.is_(False),
                or_(c.lease_owner.is_(None), c.lease_expires_at < now),
                or_(
                    c.last_sync_at.is_(None),
                    c.last_sync_at < synced_before,
                    c.last_sync_status == "stopped",  # cut short (restart, shutdown): go on at once
                    c.subscription_changed.is_(True),
                    c.id.in_(pending),
                ),
                or_(c.credentials_rejected.is_(None), and_(c.updated_at > c.last_sync_at)),
            )
            .order_by(c.last_sync_at.is_(None).desc(), c.last_sync_at)
        )
    )
