"""`events retry`: decide recorded events again, after a fix, a setting or an order arrived.

Parked events come back from their stored normalized form; rejected and unknown ones are
mapped again from their raw payload by the connector kind (where it can), so an event
that a newer Channelport understands, or that a corrected seller id now admits, is
applied without asking the channel for it again. It runs under the account's lease and
is journalled as a sync run with the trigger "retry".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channelport.connectors.base import Received
from channelport.connectors.registry import get_kind
from channelport.domain import codec
from channelport.services.accounts import account_or_fail
from channelport.services.runtime import Runtime
from channelport.services.sync import SyncReport, _SyncRun, _take_lease, new_owner
from channelport.store import accounts as accounts_repo
from channelport.store import received as received_repo
from channelport.store.db import read_only, unit_of_work

RETRYABLE = ("parked", "rejected", "unknown", "ignored")


@dataclass(frozen=True)
class RetryReport:
    account: str
    considered: int
    not_retryable: int
    report: SyncReport | None


def retry_events(rt: Runtime, *, account: str, outcomes: Sequence[str] = RETRYABLE) -> RetryReport:
    with read_only(rt.engine) as conn:
        acc = account_or_fail(conn, account)
        rows = received_repo.retryable(conn, acc.id, outcomes=list(outcomes))
        imports = accounts_repo.load_imports(conn, acc.id)
    parse = getattr(get_kind(acc.kind), "parse", None)
    items = [item for item in (_received(row, parse) for row in rows) if item is not None]
    if not items:
        return RetryReport(acc.name, len(rows), len(rows), None)
    owner = new_owner("retry")
    if not _take_lease(rt, acc, owner):
        return RetryReport(acc.name, len(rows), len(rows) - len(items),
                           SyncReport(acc.name, "busy", error="another process is syncing this account"))
    try:
        run = _SyncRun(rt, acc, "retry", owner, None, None, None)
        enabled = frozenset(i.event_type for i in imports if i.enabled)
        report = run.reprocess(items, enabled)
    finally:
        with unit_of_work(rt.engine) as conn:
            accounts_repo.release_lease(conn, acc.id, owner=owner)
    return RetryReport(acc.name, len(rows), len(rows) - len(items), report)


def _received(row: Any, parse: Any) -> Received | None:
    if row.outcome == "parked" and row.normalized:
        return Received(row.event_id, row.wire_type, row.created_at, row.raw, event=codec.decode(row.normalized))
    if parse is None:
        return None
    try:
        raw = json.loads(row.raw)
    except ValueError:
        raw = row.raw
    received = parse(raw)
    if received.event_id != row.event_id:  # keep the row's identity whatever the mapping says
        received = Received(row.event_id, received.wire_type, received.created_at, received.raw,
                            received.event, received.problem, received.unknown)
    return received
