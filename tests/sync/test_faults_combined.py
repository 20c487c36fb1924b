"""Faults on both backends: all at once, lost events with replay, refused connections, hours of outage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.sync.conftest import mismatches
from tests.sync.test_faults import check_fault, sync_all

pytestmark = pytest.mark.usefixtures("connected")


@pytest.mark.parametrize("fault", ["everything at once", "lost events"])
def test_combined_faults_end_in_the_truth(rt, market, fault):
    check_fault(rt, market, fault)


def test_refused_connections_fail_the_sync_then_recover(rt, market, server):
    market.advance(timedelta(days=1))
    server.refuse_connections()
    try:
        failed = sync_all(rt)
    finally:
        server.accept_connections()
    assert {r.status for r in failed.values()} == {"failed"}
    assert all("unavailable" in r.error for r in failed.values())
    assert {r.status for r in sync_all(rt).values()} == {"succeeded"}
    assert mismatches(rt, market, "S-1001", "shop-one") == []


def test_an_outage_of_hours_of_simulated_time(rt, market):
    market.advance(timedelta(hours=10))
    sync_all(rt)
    market.faults.set(outage=True)
    for _ in range(3):
        market.advance(timedelta(hours=4))
        assert {r.status for r in sync_all(rt).values()} == {"failed"}
    market.faults.reset()
    assert {r.status for r in sync_all(rt).values()} == {"succeeded"}
    assert mismatches(rt, market, "S-1001", "shop-one") == []
