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


def _state(order_id: str, items: int, status: str = "CREATED") -> OrderState:
    lines = tuple(LineState(line(str(n)), "UNSHIPPED", "PAID") for n in range(items))
    when = at(0)
    return OrderState(order_id, "S-1", status, when, when, "EUR", lines, when, when, when, when)


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


def test_finished_orders_leave_first_when_the_cache_is_full():
    known = KnownOrders(limit=8)  # four orders of one item each
    known.remember({"LIVE-OLD": (1, _state("LIVE-OLD", 1, "ACCEPTED"))})
    known.remember({"SHIPPED": (2, _state("SHIPPED", 1, "SHIPPED"))})
    known.remember({"CANCELLED": (3, _state("CANCELLED", 1, "CANCELED_BY_BUYER"))})
    known.remember({"LIVE-NEW": (4, _state("LIVE-NEW", 1, "PARTIALLY_SHIPPED"))})
    known.take(["SHIPPED"])  # used last, but finished all the same
    known.remember({"NEW": (5, _state("NEW", 1))})  # one over: the finished order used least recently goes
    kept = ["LIVE-OLD", "SHIPPED", "LIVE-NEW", "NEW"]  # taken in this order, which the live ones keep
    assert set(known.take(kept)[0]) == set(kept)
    known.remember({"MORE": (6, _state("MORE", 1))})  # then the other finished one
    assert known.take(["SHIPPED"]) == ({}, {"SHIPPED"})
    known.remember({"NEW": (5, _state("NEW", 1, "SHIPPED"))})  # a live order that finishes moves over
    known.remember({"LAST": (7, _state("LAST", 1))})
    assert known.take(["NEW"]) == ({}, {"NEW"})
    known.remember({"EVEN-MORE": (8, _state("EVEN-MORE", 1))})  # nothing finished is left: the oldest live one
    assert known.take(["LIVE-OLD"]) == ({}, {"LIVE-OLD"})
    assert len(known) == 4 and known.weight == 8


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
