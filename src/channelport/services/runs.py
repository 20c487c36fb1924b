"""The sync journal and the received-events log, as the interfaces show them."""

from __future__ import annotations

from typing import Any

from channelport.services.accounts import account_or_fail
from channelport.services.runtime import Runtime
from channelport.store import received as received_repo
from channelport.store import runs as runs_repo
from channelport.store.db import read_only


def list_runs(rt: Runtime, *, account: str | None = None, limit: int = 20) -> list[Any]:
    with read_only(rt.engine) as conn:
        account_id = account_or_fail(conn, account).id if account else None
        return runs_repo.list_runs(conn, account_id=account_id, limit=limit)


def run_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "account": row.account,
        "trigger": row.trigger,
        "status": row.status,
        "startedAt": row.started_at.isoformat(),
        "finishedAt": row.finished_at.isoformat() if row.finished_at else None,
        "events": row.events,
        "counts": row.counts,
        "error": row.error,
    }


def list_events(rt: Runtime, *, account: str | None = None, outcome: str | None = None, limit: int = 50) -> list[Any]:
    with read_only(rt.engine) as conn:
        account_id = account_or_fail(conn, account).id if account else None
        return received_repo.list_events(conn, account_id=account_id, outcome=outcome, limit=limit)


def event_counts(rt: Runtime, *, account: str | None = None) -> dict[str, int]:
    with read_only(rt.engine) as conn:
        account_id = account_or_fail(conn, account).id if account else None
        return received_repo.outcome_counts(conn, account_id=account_id)


def event_json(row: Any) -> dict[str, Any]:
    return {
        "account": row.account,
        "eventId": row.event_id,
        "type": row.wire_type,
        "orderId": row.order_id,
        "createdAt": row.created_at.isoformat() if row.created_at else None,
        "receivedAt": row.received_at.isoformat(),
        "outcome": row.outcome,
        "reason": row.reason,
        "raw": row.raw,
    }
