"""The fault matrix: every fault of the simulator, over real HTTP, ends in the truth.

Each case trades and syncs with the fault switched on (syncs may fail while it lasts;
that is allowed), then switches it off, syncs once more, and compares the export with
the channel's truth. Nothing may be lost or doubled whatever the channel did.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from channelport.services import manual_sync
from channelport.store.db import read_only
from channelport.store.tables import received_events
from tests.sync.conftest import mismatches

pytestmark = pytest.mark.usefixtures("connected")

FAULTS = {
    "429 storm": {"rate_limit_probability": 0.5, "retry_after": 0.05},
    "every 3rd request 429": {"rate_limit_every": 3, "retry_after": 0.05},
    "500 with HTML bodies": {"error_probability": 0.4},
    "truncated pages": {"truncate_probability": 0.4},
    "slow answers": {"delay_seconds": 0.05},
    "duplicate deliveries": {"duplicate_probability": 0.5},
    "updates before their order": {"hold_new_seconds": 0.3},
    "stale updates after newer ones": {"stale_probability": 0.6},
    "unknown event types": {"unknown_event_probability": 0.2},
    "malformed events": {"malformed_event_probability": 0.2},
    "lost events": {"lose_probability": 0.3},
    "everything at once": {  # also run on PostgreSQL by test_faults_combined.py
        "rate_limit_probability": 0.1, "retry_after": 0.05, "error_probability": 0.1, "truncate_probability": 0.1,
        "duplicate_probability": 0.3, "hold_new_seconds": 0.2, "stale_probability": 0.3,
        "unknown_event_probability": 0.05, "malformed_event_probability": 0.05,
    },
}


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Single faults on SQLite; tests/sync/test_faults_combined.py runs on both backends."""
    return f"sqlite:///{tmp_path / 'channelport.db'}"


def sync_all(rt):  # type: ignore[no-untyped-def]
    return {r.account: r for r in manual_sync.sync_accounts(rt, concurrency=2)}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_fault_ends_in_the_truth(rt, market, fault):
    check_fault(rt, market, fault)


def check_fault(rt, market, fault: str) -> None:  # type: ignore[no-untyped-def]
    market.faults.set(**FAULTS[fault])
    for _ in range(3):
        market.advance(timedelta(hours=14))
        sync_all(rt)
    market.faults.reset()
    market.expire_inflight()
    if fault == "lost events":
        from datetime import date

        from channelport.services import event_imports

        event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
        event_imports.request_imports(rt, "shop-two", day=date(2026, 11, 1))
    import time

    time.sleep(FAULTS[fault].get("hold_new_seconds", 0))  # held-back orders become visible
    final = sync_all(rt)
    assert {r.status for r in final.values()} == {"succeeded"}, final
    assert mismatches(rt, market, "S-1001", "shop-one") == []
    assert mismatches(rt, market, "S-2002", "shop-two") == []
    with read_only(rt.engine) as conn:
        outcomes = {row.outcome for row in conn.execute(select(received_events.c.outcome))}
        kept = list(conn.execute(select(received_events).where(received_events.c.outcome.in_(["unknown", "rejected"]))))
    if fault == "unknown event types":
        assert "unknown" in outcomes and all(row.raw for row in kept)
    if fault == "malformed events":
        rejected = [row for row in kept if row.outcome == "rejected"]
        assert rejected and all(row.reason and row.raw for row in rejected)
    if fault in ("duplicate deliveries", "everything at once"):
        assert "duplicate" in outcomes
    if fault == "stale updates after newer ones":
        # The older update comes again under a new id: recognised by its content as the event
        # applied before (services/replays.py), or by the rules as stale; applied never.
        with read_only(rt.engine) as conn:
            reasons = [row.reason or "" for row in conn.execute(
                select(received_events.c.reason).where(received_events.c.outcome == "duplicate"))]
        assert "stale" in outcomes or any(r.startswith("the same event was received before as ") for r in reasons)


