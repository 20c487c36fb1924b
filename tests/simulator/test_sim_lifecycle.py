"""The truth follows the lifecycle rules, the channel keeps its guarantees, and same seed = same world."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from channelport.simulator import (
    ADDRESS,
    CANCEL_ACCEPTED,
    CANCEL_DENIED,
    NEW,
    STATUS,
    Marketplace,
)

from .conftest import START
from .support import ADDRESS_FIELDS, fold, payload_problems

SELLER = "S-1001"


def _request(market: Marketplace, order_id: str, **extra: Any) -> None:
    body = {
        "orderId": order_id,
        "orderCancellationRequestId": str(uuid.uuid5(uuid.NAMESPACE_URL, order_id)),
        "cancelReason": "DELAYED_INVENTORY",
        **extra,
    }
    created, _ = market.request_cancellation(SELLER, body)
    assert created


@pytest.fixture(scope="module")
def world() -> Marketplace:
    """1,500 orders over ten days, some seller requests through the API, then 20 quiet days."""
    market = Marketplace(seed=11, start=START, sellers={SELLER: "t", "S-2002": "u"}, orders_per_day=0)
    market.generate(orders=1500, days=10)
    candidates = [o for o in market.truth(SELLER) if o["orderStatus"] in ("CREATED", "ACCEPTED")]
    shipped = [o for o in market.truth(SELLER) if o["orderStatus"] == "SHIPPED"]
    for order in candidates[:8]:
        _request(market, order["orderId"])
    for order in candidates[8:14]:
        first = order["orderItem"][0]
        _request(
            market, order["orderId"], orderItem=[{"orderItemId": first["orderItemId"], "quantity": first["quantity"]}]
        )
    _request(market, candidates[14]["orderId"], orderItem=[{"orderItemId": "99", "quantity": "1"}])
    _request(market, shipped[0]["orderId"])
    market.advance(timedelta(days=20))
    return market


@pytest.fixture(scope="module")
def log(world: Marketplace) -> list[dict[str, Any]]:
    return world.event_log(SELLER)


def _by_order(log: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in log:
        orders[entry["event"]["orderId"]].append(entry)
    return orders


def test_the_truth_is_what_the_events_add_up_to(world: Marketplace, log: list[dict[str, Any]]) -> None:
    truth = world.truth(SELLER, account="kaufland-main")
    assert truth == fold(log, "kaufland-main")
    assert [o["orderId"] for o in truth] == sorted(o["orderId"] for o in truth)


def test_every_payload_fits_the_protocol(log: list[dict[str, Any]]) -> None:
    for entry in log:
        assert not payload_problems(entry["type"], entry["event"]), entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["createdAt"])


def test_changes_of_one_order_are_at_least_a_millisecond_apart(log: list[dict[str, Any]]) -> None:
    for entries in _by_order(log).values():
        stamps = [e["createdAt"] for e in entries]
        assert stamps == sorted(set(stamps)), stamps


def test_the_order_event_carries_the_order_as_created(log: list[dict[str, Any]]) -> None:
    for entry in (e for e in log if e["type"] == NEW):
        event = entry["event"]
        assert event["orderStatus"] == "CREATED"
        assert event["purchasedAt"] == event["lastChangedAt"] == entry["createdAt"]
        assert {i["itemStatus"] for i in event["orderItem"]} == {"UNSHIPPED"}
        assert [i["type"] for i in event["orderItem"]][-1] == "SHIPPING"
        assert Counter(i["type"] for i in event["orderItem"])["SHIPPING"] == 1


def test_nothing_changes_a_cancelled_order_but_answers_to_earlier_requests(
    world: Marketplace, log: list[dict[str, Any]]
) -> None:
    opened = {r["orderCancellationRequestId"]: r["openedAt"] for r in world.cancellation_requests(SELLER)}
    for entries in _by_order(log).values():
        quantities: dict[str, Decimal] = {}
        cancelled: dict[str, Decimal] = defaultdict(Decimal)
        terminal_at = None
        for entry in entries:
            event, type_ = entry["event"], entry["type"]
            if terminal_at is not None:
                assert type_ in (CANCEL_ACCEPTED, CANCEL_DENIED), entry
                assert opened[event["orderCancellationRequestId"]] < terminal_at
                continue
            if type_ == NEW:
                quantities = {i["orderItemId"]: Decimal(i["quantity"]) for i in event["orderItem"]}
            elif type_ == STATUS:
                for item in event.get("orderItems", []):
                    assert cancelled[item["orderItemId"]] < quantities[item["orderItemId"]], "touches a cancelled item"
                if event["orderStatus"] == "CANCELED_BY_BUYER":
                    terminal_at = entry["createdAt"]
            elif type_ == CANCEL_ACCEPTED:
                for item in event.get(
                    "orderItem", [{"orderItemId": i, "quantity": str(q)} for i, q in quantities.items()]
                ):
                    cancelled[item["orderItemId"]] += Decimal(item["quantity"])
                    assert cancelled[item["orderItemId"]] <= quantities[item["orderItemId"]]
                if all(cancelled[i] == q for i, q in quantities.items()):
                    terminal_at = entry["createdAt"]


def test_no_status_change_while_a_seller_request_is_open(world: Marketplace, log: list[dict[str, Any]]) -> None:
    requests = world.cancellation_requests(SELLER)
    assert {r["source"] for r in requests} == {"portal", "api"}
    answered_at = {
        e["event"]["orderCancellationRequestId"]: e["createdAt"]
        for e in log
        if e["type"] in (CANCEL_ACCEPTED, CANCEL_DENIED)
    }
    orders = _by_order(log)
    for request in requests:
        until = answered_at[request["orderCancellationRequestId"]]
        for entry in orders[request["orderId"]]:
            if entry["type"] == STATUS:
                assert not request["openedAt"] <= entry["createdAt"] <= until, (request, entry)


def test_the_event_mix(world: Marketplace, log: list[dict[str, Any]]) -> None:
    orders = world.order_count(SELLER)
    assert orders == 1500
    per_order = len(log) / orders
    assert 3.2 < per_order < 3.8, per_order
    types = Counter(e["type"] for e in log)
    assert types[NEW] == orders
    assert 2.0 < types[STATUS] / orders < 2.8
    address_orders = {e["event"]["orderId"] for e in log if e["type"] == ADDRESS}
    assert 0.07 < len(address_orders) / orders < 0.13
    plans = Counter(world.order_plans(SELLER).values())
    cancelled = plans["buyer_cancel"] + sum(n for p, n in plans.items() if p.startswith("portal"))
    assert 0.03 < cancelled / orders < 0.07
    parts = Counter(
        frozenset(k for k in ("billingAddress", "shippingAddress", "buyer") if k in e["event"])
        for e in log
        if e["type"] == ADDRESS
    )
    assert len(parts) >= 3  # billing only, shipping only, both, buyer
    assert types[CANCEL_ACCEPTED] and types[CANCEL_DENIED]
    accepted = [e["event"] for e in log if e["type"] == CANCEL_ACCEPTED]
    assert any("orderItem" in e for e in accepted) and any("orderItem" not in e for e in accepted)


def test_orders_look_real(log: list[dict[str, Any]]) -> None:
    news = [e["event"] for e in log if e["type"] == NEW]
    currencies = Counter(e["currency"] for e in news)
    assert currencies["EUR"] / len(news) > 0.85
    assert len({"PLN", "CZK", "GBP"} & set(currencies)) >= 2
    countries = Counter(e["billingAddress"]["country"] for e in news)
    assert countries["DE"] / len(news) > 0.75 and len(countries) >= 6
    taxes = Counter(i["taxPercent"] for e in news for i in e["orderItem"])
    assert taxes["19"] and taxes["7"]
    assert any(e["billingAddress"]["companyName"] for e in news)
    assert any(e["buyer"]["vatId"] for e in news)
    assert any(e["billingAddress"]["phone"] for e in news) and any(e["billingAddress"]["phone"] is None for e in news)
    assert any(not e["billingAddress"]["lastName"].isascii() for e in news)
    assert any(e["shippingAddress"]["street"] == "Packstation" for e in news)
    assert {e["paymentMethod"] for e in news} >= {"paypal", "prepayment", "invoice"}
    for event in news:
        for item in event["orderItem"]:
            if item["type"] == "ITEM":
                assert item["sku"] and item["title"]
                total = (Decimal(item["grossPrice"]) * Decimal(item["quantity"])).quantize(Decimal("0.01"))
                assert abs(total - Decimal(item["total"])) <= Decimal("0.01")
            else:
                assert "sku" not in item and "title" not in item


def test_the_truth_has_the_export_shape(world: Marketplace) -> None:
    truth = world.truth(SELLER, account="shop-de")
    keys = [
        "account",
        "orderId",
        "orderStatus",
        "currency",
        "purchasedAt",
        "paymentMethod",
        "buyer",
        "billingAddress",
        "shippingAddress",
        "orderItem",
        "cancellationRequests",
    ]
    item_keys = [
        "orderItemId",
        "type",
        "sku",
        "quantity",
        "cancelledQuantity",
        "grossPrice",
        "total",
        "taxPercent",
        "itemStatus",
        "itemPaymentStatus",
    ]
    for order in truth:
        assert list(order) == keys and order["account"] == "shop-de"
        assert list(order["billingAddress"]) == list(ADDRESS_FIELDS) == list(order["shippingAddress"])
        assert list(order["buyer"]) == ["email", "vatId"]
        for item in order["orderItem"]:
            assert list(item) == item_keys
            if item["cancelledQuantity"] == item["quantity"]:
                assert item["itemStatus"] == "CANCELED_BY_SELLER"
        requests = order["cancellationRequests"]
        assert [r["orderCancellationRequestId"] for r in requests] == sorted(
            r["orderCancellationRequestId"] for r in requests
        )
        for request in requests:
            assert request["state"] in ("ACCEPTED", "DENIED")
            assert (request["cancelReason"] is None) == (request["state"] == "DENIED")
            assert (request["reason"] is None) == (request["state"] == "ACCEPTED")
    statuses = Counter(o["orderStatus"] for o in truth)
    assert statuses["SHIPPED"] and statuses["CANCELED_BY_SELLER"] and statuses["CANCELED_BY_BUYER"]
    assert any(i["itemStatus"] == "RETURNED" for o in truth for i in o["orderItem"])
    assert any(
        i["cancelledQuantity"] not in ("0", i["quantity"])
        or (i["cancelledQuantity"] == i["quantity"] and o["orderStatus"] != "CANCELED_BY_SELLER")
        for o in truth
        for i in o["orderItem"]
    )


def test_an_unanswered_request_is_not_in_the_truth() -> None:
    market = Marketplace(seed=2, start=START, orders_per_day=0)
    market.generate(orders=20, days=1)
    order = next(o for o in market.truth("S-1001") if o["orderStatus"] in ("CREATED", "ACCEPTED"))
    market.request_cancellation(
        "S-1001",
        {"orderId": order["orderId"], "orderCancellationRequestId": str(uuid.uuid4()), "cancelReason": "OTHER"},
    )
    assert next(o for o in market.truth("S-1001") if o["orderId"] == order["orderId"])["cancellationRequests"] == []


def test_same_seed_same_world_however_the_clock_is_advanced() -> None:
    def world(seed: int, steps: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        market = Marketplace(seed=seed, start=START, sellers={"S-1001": "a", "S-2002": "b"}, orders_per_day=60)
        for _ in range(steps):
            market.advance(timedelta(days=6) / steps)
        return market.truth("S-2002"), market.event_log("S-2002")

    once = world(5, 1)
    assert once == world(5, 1)
    assert once == world(5, 37)
    assert once[0] != world(6, 1)[0]


def test_generate_makes_exactly_the_orders_asked_for() -> None:
    market = Marketplace(seed=1, start=START, sellers={"S-1001": "a", "S-2002": "b"}, orders_per_day=100)
    end = market.generate(orders=250, days=2.5)
    assert end == market.now == START + timedelta(days=2.5)
    assert market.order_count("S-1001") == market.order_count("S-2002") == 250
    market.advance(timedelta(days=1))
    assert market.order_count("S-1001") > 250  # the regular stream resumes
    with pytest.raises(ValueError):
        market.generate(orders=1, days=0)


def test_sellers_trade_independently() -> None:
    alone = Marketplace(seed=4, start=START, sellers={"S-1001": "a"}, orders_per_day=50)
    pair = Marketplace(seed=4, start=START, sellers={"S-1001": "a", "S-2002": "b"}, orders_per_day=50)
    alone.advance(timedelta(days=3))
    pair.advance(timedelta(days=3))
    assert alone.truth("S-1001") == pair.truth("S-1001")
    assert {o["orderId"] for o in pair.truth("S-1001")}.isdisjoint(o["orderId"] for o in pair.truth("S-2002"))


def test_generation_is_fast() -> None:
    market = Marketplace(seed=1, start=START, orders_per_day=0)
    started = time.process_time()
    market.generate(orders=10_000, days=7)
    elapsed = time.process_time() - started
    assert market.order_count("S-1001") == 10_000
    assert elapsed < 8, f"10,000 orders took {elapsed:.1f} s of CPU"


def test_cancelled_quantities_are_plain_sums_but_a_whole_cancellation_writes_the_quantity() -> None:
    market = Marketplace(seed=9, start=START, orders_per_day=0, answer_delay=(60.0, 60.0))
    market.cancel_accept_probability = 1.0
    market.generate(orders=300, days=1)
    candidates = [
        o
        for o in market.truth(SELLER)
        if o["orderStatus"] in ("CREATED", "ACCEPTED")
        and len(o["orderItem"]) >= 3
        and all(i["itemStatus"] == "UNSHIPPED" for i in o["orderItem"])
        and o["orderItem"][0]["quantity"] == "2"
    ]
    summed, whole = candidates[0]["orderId"], candidates[1]["orderId"]

    def ask(order_id: str, items: list[tuple[str, str]] | None) -> None:
        body: dict[str, Any] = {
            "orderId": order_id,
            "orderCancellationRequestId": str(uuid.uuid4()),
            "cancelReason": "OUT_OF_STOCK",
        }
        if items is not None:
            body["orderItem"] = [{"orderItemId": i, "quantity": q} for i, q in items]
        market.request_cancellation(SELLER, body)
        market.advance(timedelta(minutes=2))

    ask(summed, [("1", "0.5")])
    ask(summed, [("1", "1.5")])
    ask(whole, [("1", "0.5")])
    ask(whole, None)
    truth = {o["orderId"]: o for o in market.truth(SELLER)}
    first_summed, first_whole = truth[summed]["orderItem"][0], truth[whole]["orderItem"][0]
    assert (first_summed["cancelledQuantity"], first_summed["itemStatus"]) == ("2.0", "CANCELED_BY_SELLER")
    assert truth[summed]["orderStatus"] != "CANCELED_BY_SELLER"
    assert [i["cancelledQuantity"] for i in truth[whole]["orderItem"]] == [
        i["quantity"] for i in truth[whole]["orderItem"]
    ]
    assert first_whole["cancelledQuantity"] == "2" and truth[whole]["orderStatus"] == "CANCELED_BY_SELLER"
    assert market.truth(SELLER) == fold(market.event_log(SELLER), "kaufland-main")
