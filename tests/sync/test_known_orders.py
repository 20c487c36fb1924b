"""The orders a sync keeps between pages: bounded by orders plus items, least recently used out first.

And the sync with a cache far too small for its account still imports exactly: an
order that fell out is read back from the database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from channelport.domain.order import LineState, OrderState
from channelport.services import accounts as accounts_service
from channelport.services import sync as sync_module
from channelport.services.known_orders import KnownOrders
from channelport.services.sync import sync_account
from tests.domain.builders import at, line
from tests.sync.conftest import mismatches


def _state(order_id: str, items: int) -> OrderState:
    lines = tuple(LineState(line(str(n)), "UNSHIPPED", "PAID") for n in range(items))
    when = at(0)
    return OrderState(order_id, "S-1", "CREATED", when, when, "EUR", lines, when, when, when, when)


def test_the_bound_counts_orders_and_their_items():
    known = KnownOrders(limit=10)
    known.remember({"A": (1, _state("A", 2)), "B": (2, _state("B", 2))})  # weight 3 + 3
    assert known.weight == 6 and len(known) == 2
    found, missing = known.take(["A", "C"])  # A is now the most recently used
    assert set(found) == {"A"} and missing == {"C"} and known.hits == 1 and known.misses == 1
    known.remember({"C": (3, _state("C", 4))})  # weight 11 > 10: B goes, not A
    assert set(known.take(["A", "B", "C"])[0]) == {"A", "C"} and known.weight == 8
    known.remember({"A": (1, _state("A", 0))})  # a new state replaces the old one's weight
    assert known.weight == 6
    known.remember({"D": (4, _state("D", 20))})  # heavier than the bound: nothing is kept
    assert len(known) == 0 and known.weight == 0


@pytest.mark.usefixtures("connected")
def test_a_sync_with_a_tiny_cache_reads_evicted_orders_back_and_imports_exactly(rt, market, monkeypatch):
    """The bound is the installation's setting (CHANNELPORT_ORDER_CACHE), here 8."""
    caches: list[KnownOrders] = []

    def kept(limit: int) -> KnownOrders:
        caches.append(KnownOrders(limit))
        return caches[-1]

    monkeypatch.setattr(rt.settings, "order_cache", 8)
    monkeypatch.setattr(sync_module, "KnownOrders", kept)
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 10)
    market.advance(timedelta(days=3))
    report = sync_account(rt, accounts_service.get_account(rt, "shop-one"), trigger="manual")
    assert report.status == "succeeded", report.error
    assert caches[0].limit == 8
    assert caches[0].misses > 20 and caches[0].hits > 0 and caches[0].weight <= 8
    assert mismatches(rt, market, "S-1001", "shop-one") == []
