"""The amazon-sp-api connector on the polling base: cursor, windows, batches, loop guard,
mapping and settings. A scripted SP-API on `httpx.MockTransport`, a clock set by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from channelport.connectors.amazon_sp_api import AmazonKind, AmazonListing, AmazonSettings
from channelport.connectors.amazon_sp_api_client import USAGE_PLANS, AmazonClient
from channelport.connectors.amazon_sp_api_mapping import (
    WireOrder,
    WireOrderItem,
    build_order_seen,
    map_address,
    prices_include_tax,
    split_name,
)
from channelport.connectors.base import AccountConfig, EventImport
from channelport.connectors.polling import CursorState, HttpSettings, Limit, PollingConnector, RateLimiter, Scan
from channelport.domain.events import EventType, OrderSeen
from channelport.errors import ProtocolError, UsageError

UTC = timezone.utc
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DE = "A1PA6795UKMFR9"


def order(n: int, updated: datetime, status: str = "Unshipped") -> dict[str, Any]:
    return {
        "AmazonOrderId": f"302-{n:07d}-0000000", "PurchaseDate": "2026-11-20T08:00:00Z",
        "LastUpdateDate": updated.strftime("%Y-%m-%dT%H:%M:%SZ"), "OrderStatus": status, "MarketplaceId": DE,
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "11.90"}, "PaymentMethodDetails": ["Standard"],
        "BuyerInfo": {"BuyerEmail": f"b{n}@marketplace.amazon.de"},
    }


ITEM = {"OrderItemId": "1", "ASIN": "B0", "SellerSKU": "S", "QuantityOrdered": 1, "QuantityShipped": 0,
        "ItemPrice": {"CurrencyCode": "EUR", "Amount": "11.90"}, "ItemTax": {"CurrencyCode": "EUR", "Amount": "1.90"}}
ADDRESS = {"Name": "Anna Schmidt", "AddressLine1": "Hauptstr. 5", "City": "Berlin", "PostalCode": "10115",
           "CountryCode": "DE"}


class ScriptedAmazon:
    """getOrders answers from a list of pages, chosen by NextToken; items and address fixed."""

    def __init__(self, pages: list[list[dict[str, Any]]], *, tokens: list[str | None] | None = None) -> None:
        self.pages = pages
        self.tokens = tokens or [f"t{i + 1}" if i + 1 < len(pages) else None for i in range(len(pages))]
        self.listed: list[dict[str, str]] = []
        self.calls: list[str] = []
        self.refuse_token: str | None = None
        self.date: str | None = None  # the Date header of every answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self._answer(request)
        if self.date is not None:
            response.headers["Date"] = self.date
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(path)
        if path == "/auth/o2/token":
            return httpx.Response(200, json={"access_token": "Atza|1", "expires_in": 3600})
        if path == "/orders/v0/orders":
            params = dict(request.url.params)
            self.listed.append(params)
            token = params.get("NextToken")
            if token is not None and token == self.refuse_token:
                return httpx.Response(400, json={"errors": [{"code": "InvalidInput", "message": "Invalid NextToken"}]})
            index = 0 if token is None else self.tokens.index(token) + 1
            payload: dict[str, Any] = {"Orders": self.pages[index]}
            if self.tokens[index] is not None:
                payload["NextToken"] = self.tokens[index]
            return httpx.Response(200, json={"payload": payload})
        if path.endswith("/orderItems"):
            return httpx.Response(200, json={"payload": {"AmazonOrderId": "x", "OrderItems": [ITEM]}})
        if path.endswith("/address"):
            return httpx.Response(200, json={"payload": {"AmazonOrderId": "x", "ShippingAddress": ADDRESS}})
        return httpx.Response(404)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def connector(
    amazon: ScriptedAmazon, state: dict[str, Any] | None = None, clock: Clock | None = None, **settings: Any
) -> PollingConnector:
    chosen = AmazonSettings(marketplace_ids=[DE], lwa_client_id="client", **{"orders_per_batch": 2, **settings})
    client = AmazonClient(
        "https://sellingpartnerapi-eu.amazon.com", "Atza|fixed",
        HttpSettings(retry_deadline=0, max_retry_wait=0.01),
        limiter=RateLimiter(USAGE_PLANS, Limit(100, 100)), transport=httpx.MockTransport(amazon),
    )
    return PollingConnector(AmazonListing(client, chosen, "A2SELLER"), chosen, state, clock=clock or Clock(NOW))


def requested(day: int, *, pending: bool = True, enabled: bool = True) -> list[EventImport]:
    instant = datetime(2026, 11, day, tzinfo=UTC)
    return [EventImport(kind, enabled, instant, pending) for kind in EventType]


def drain(conn: PollingConnector) -> list[Any]:
    batches = []
    while not (batch := conn.pull(1000)).empty:
        batches.append(batch)
    return batches


# --------------------------------------------------------------------------- cursor


def test_nothing_is_listed_before_imports_are_requested():
    amazon = ScriptedAmazon([[order(1, NOW - timedelta(hours=1))]])
    assert connector(amazon).pull(100).empty
    assert amazon.calls == []


def test_a_backfill_lists_the_window_in_batches_and_moves_the_cursor_only_at_its_end():
    t = NOW - timedelta(hours=5)
    amazon = ScriptedAmazon([[order(1, t), order(2, t), order(3, t)], [order(4, t)]])
    conn = connector(amazon)
    conn.subscribe(requested(20))
    assert conn.state()["cursor"] == "2026-11-20T00:00:00.000Z" and conn.state()["scan"] is None
    batches = drain(conn)
    assert [len(b.items) for b in batches] == [2, 1, 1]
    # While the first page still has orders left, the state points at that page again.
    assert batches[0].state["scan"]["position"] is None and batches[0].state["cursor"] == "2026-11-20T00:00:00.000Z"
    assert batches[1].state["scan"]["position"] == {"token": "t1"}
    end = NOW - timedelta(seconds=150)
    assert batches[2].state["scan"] is None
    assert batches[2].state["cursor"] == (end - timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [q.get("NextToken") for q in amazon.listed] == [None, "t1"]
    assert {q["LastUpdatedBefore"] for q in amazon.listed} == {end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert all(isinstance(item.event, OrderSeen) for b in batches for item in b.items)
    assert conn.pull(100).empty and len(amazon.listed) == 2  # one window up to now per sync


def test_the_next_sync_lists_from_the_overlap_and_an_empty_window_moves_nothing():
    amazon = ScriptedAmazon([[]])
    state = CursorState(cursor=NOW - timedelta(minutes=30)).to_json()
    conn = connector(amazon, state)
    assert conn.pull(100).empty
    assert amazon.listed[0]["LastUpdatedAfter"] == "2026-11-27T11:30:00Z"
    assert conn.state()["cursor"] == (NOW - timedelta(seconds=750)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_window_that_would_end_before_it_starts_asks_nothing():
    amazon = ScriptedAmazon([[]])
    conn = connector(amazon, CursorState(cursor=NOW - timedelta(seconds=60)).to_json())
    assert conn.pull(100).empty and amazon.calls == []


def test_the_window_ends_settle_seconds_behind_the_earlier_clock():
    amazon = ScriptedAmazon([[order(1, NOW - timedelta(hours=1))], []])
    amazon.date = "Fri, 27 Nov 2026 11:50:00 GMT"  # Amazon's clock is ten minutes behind ours
    conn = connector(amazon, CursorState(cursor=NOW - timedelta(hours=2)).to_json())
    conn.listing.client.get_order_address("302-0000001-0000000")  # any answer shows Amazon's clock
    drain(conn)
    assert amazon.listed[0]["LastUpdatedBefore"] == "2026-11-27T11:47:30Z"


@pytest.mark.parametrize(
    ("current", "request_day", "expected"),
    [(None, 20, "2026-11-20"), ("2026-11-25", 20, "2026-11-20"), ("2026-11-18", 20, "2026-11-18")],
)
def test_a_pending_request_sets_the_cursor_back_never_forward(current, request_day, expected):
    state = None if current is None else CursorState(cursor=datetime.fromisoformat(current).replace(tzinfo=UTC)).to_json()
    conn = connector(ScriptedAmazon([]), state)
    conn.subscribe(requested(request_day))
    assert conn.state()["cursor"].startswith(expected)


def test_a_request_earlier_than_a_scan_in_progress_drops_the_scan():
    scan = Scan(datetime(2026, 11, 25, tzinfo=UTC), NOW - timedelta(minutes=3), {"token": "t1"})
    conn = connector(ScriptedAmazon([]), CursorState(cursor=scan.after, scan=scan).to_json())
    conn.subscribe(requested(26))
    assert conn.state()["scan"] is not None  # the scan covers the request
    conn.subscribe(requested(20))
    assert conn.state()["scan"] is None and conn.state()["cursor"].startswith("2026-11-20")


def test_without_a_request_the_cursor_starts_at_the_earliest_from_or_now_and_disabling_pauses():
    conn = connector(ScriptedAmazon([]))
    conn.subscribe([EventImport(EventType.ORDER, True, None, False)])
    assert conn.state()["cursor"] == "2026-11-27T12:00:00.000Z"
    conn.subscribe([EventImport(kind, False) for kind in EventType])
    assert conn.state()["paused"] is True and conn.pull(10).empty
    conn.subscribe([EventImport(EventType.STATUS, True, None, False)])
    assert conn.state()["paused"] is False and conn.state()["cursor"] == "2026-11-27T12:00:00.000Z"


def test_an_unfinished_scan_is_resumed_at_its_page_and_a_refused_token_restarts_it():
    t = NOW - timedelta(hours=3)
    amazon = ScriptedAmazon([[order(1, t)], [order(2, t)], [order(3, t)]])
    scan = Scan(NOW - timedelta(days=1), NOW - timedelta(hours=1), {"token": "t1"})
    batches = drain(connector(amazon, CursorState(cursor=scan.after, scan=scan).to_json()))
    assert [q.get("NextToken") for q in amazon.listed][:2] == ["t1", "t2"]
    assert {q["LastUpdatedBefore"] for q in amazon.listed[:2]} == {"2026-11-27T11:00:00Z"}
    assert [b.items[0].event.order_id for b in batches][:2] == ["302-0000002-0000000", "302-0000003-0000000"]
    # The resumed scan ended; a fresh one up to now follows in the same sync.
    assert amazon.listed[2]["LastUpdatedAfter"] == "2026-11-27T10:50:00Z"

    amazon = ScriptedAmazon([[order(1, t)], [order(2, t)]], tokens=["u1", None])  # an expired token, a new one
    amazon.refuse_token = "t1"
    batches = drain(connector(amazon, CursorState(cursor=scan.after, scan=scan).to_json()))
    assert [q.get("NextToken") for q in amazon.listed][:3] == ["t1", None, "u1"]
    assert [b.items[0].event.order_id for b in batches][:2] == ["302-0000001-0000000", "302-0000002-0000000"]


def test_a_paginator_repeating_a_token_or_returning_nothing_new_is_stopped():
    t = NOW - timedelta(hours=1)
    amazon = ScriptedAmazon([[order(1, t)], [order(2, t)]], tokens=["t1", "t1"])
    conn = connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json())
    conn.subscribe(requested(20))
    with pytest.raises(ProtocolError, match="paginator returned a page position it had returned before"):
        drain(conn)

    same = [order(1, t)]
    amazon = ScriptedAmazon([same] * 6, tokens=["t1", "t2", "t3", "t4", "t5", None])  # new tokens, the same page
    conn = connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json())
    with pytest.raises(ProtocolError, match="3 pages in a row without an order not listed before"):
        drain(conn)


def test_one_order_listed_twice_on_a_page_is_handed_out_once_in_its_latest_version():
    early, late = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    amazon = ScriptedAmazon([[order(1, early), order(2, early), order(1, late)]])
    (batch,) = drain(connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json(), orders_per_batch=10))
    assert [(i.event.order_id, i.created_at) for i in batch.items] == [
        ("302-0000002-0000000", early), ("302-0000001-0000000", late)
    ]


def test_pending_orders_wait_for_payment_unless_asked_for_and_get_no_address_call():
    t = NOW - timedelta(hours=1)
    amazon = ScriptedAmazon([[order(1, t, "Pending"), order(2, t, "Canceled")]])
    (batch,) = drain(connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json()))
    assert [i.event.order.order_status for i in batch.items] == ["CANCELED_BY_SELLER"]
    assert not any(c.endswith("/address") for c in amazon.calls)

    amazon = ScriptedAmazon([[order(1, t, "Pending")]])
    (batch,) = drain(connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json(), import_pending=True))
    assert batch.items[0].event.order.order_status == "CREATED"


def test_a_malformed_order_is_kept_with_its_reason_and_the_rest_goes_on():
    t = NOW - timedelta(hours=1)
    bad = {**order(1, t), "OrderStatus": "Teleported"}
    amazon = ScriptedAmazon([[bad, order(2, t)]])
    (batch,) = drain(connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json()))
    problem, good = batch.items
    assert problem.event is None and "order.OrderStatus" in problem.problem and problem.raw["order"] == bad
    assert problem.event_id == "amz:302-0000001-0000000:" + t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert isinstance(good.event, OrderSeen)


def test_an_unreadable_stored_state_stops_pulls_until_imports_are_requested_again():
    conn = connector(ScriptedAmazon([[]]), {"version": 99})
    with pytest.raises(ProtocolError, match="request the imports again"):
        conn.pull(10)
    conn.subscribe(requested(20))
    assert conn.state()["cursor"].startswith("2026-11-20")


# --------------------------------------------------------------------------- mapping


def wire(status: str, items: list[dict[str, Any]], **extra: Any) -> tuple[WireOrder, list[WireOrderItem]]:
    record = {**order(1, NOW, status), **extra}
    return WireOrder.model_validate(record), [WireOrderItem.model_validate(i) for i in items]


def seen_of(status: str, items: list[dict[str, Any]], **extra: Any) -> OrderSeen:
    parsed, parsed_items = wire(status, items, **extra)
    return build_order_seen(parsed, parsed_items, None, seller_id="S", event_id="e")


@pytest.mark.parametrize(
    ("status", "order_status", "item_status", "payment"),
    [
        ("Pending", "CREATED", "UNSHIPPED", "PENDING"),
        ("PendingAvailability", "CREATED", "UNSHIPPED", "PENDING"),
        ("Unshipped", "ACCEPTED", "UNSHIPPED", "PAID"),
        ("Shipped", "SHIPPED", "SHIPPED", "PAID"),
        ("InvoiceUnconfirmed", "SHIPPED", "SHIPPED", "PAID"),
        ("Canceled", "CANCELED_BY_SELLER", "CANCELED_BY_SELLER", "PENDING"),
        ("Unfulfillable", "CANCELED_BY_SELLER", "CANCELED_BY_SELLER", "PENDING"),
    ],
)
def test_status_mapping(status, order_status, item_status, payment):
    seen = seen_of(status, [ITEM])
    assert seen.order.order_status == order_status
    assert [(l.item_status, l.item_payment_status) for l in seen.order.lines] == [(item_status, payment)]


def test_partially_shipped_orders_show_each_items_own_state_and_shipping_has_begun():
    items = [{**ITEM, "QuantityOrdered": 2, "QuantityShipped": 2, "ShippingPrice": {"Amount": "5.95"},
              "ShippingTax": {"Amount": "0.95"}},
             {**ITEM, "OrderItemId": "2", "QuantityOrdered": 2, "QuantityShipped": 1}]
    seen = seen_of("PartiallyShipped", items, OrderTotal={"CurrencyCode": "EUR", "Amount": "29.75"})
    assert seen.order.order_status == "PARTIALLY_SHIPPED"
    assert [(l.order_item_id, l.type, l.item_status) for l in seen.order.lines] == [
        ("1", "ITEM", "SHIPPED"), ("2", "ITEM", "UNSHIPPED"), ("shipping", "SHIPPING", "SHIPPED")
    ]
    shipping = seen.order.lines[2]
    assert (shipping.total, shipping.tax_percent, shipping.quantity) == (Decimal("5.95"), Decimal("19"), Decimal(1))


def test_amounts_gross_in_europe_net_in_the_us_read_off_the_order_total():
    eu = [{**ITEM, "QuantityOrdered": 2, "ItemPrice": {"Amount": "23.80"}, "ItemTax": {"Amount": "3.80"},
           "PromotionDiscount": {"Amount": "2.38"}, "PromotionDiscountTax": {"Amount": "0.38"}}]
    line = seen_of("Unshipped", eu, OrderTotal={"CurrencyCode": "EUR", "Amount": "21.42"}).order.lines[0]
    assert (line.total, line.gross_price, line.tax_percent) == (Decimal("21.42"), Decimal("10.71"), Decimal("19"))
    us = [{**ITEM, "ItemPrice": {"Amount": "10.00"}, "ItemTax": {"Amount": "0.70"}}]
    line = seen_of("Unshipped", us, OrderTotal={"CurrencyCode": "USD", "Amount": "10.70"}).order.lines[0]
    assert (line.total, line.tax_percent) == (Decimal("10.70"), Decimal("7"))
    # No order total to read it off: the marketplace decides (US: net).
    parsed, parsed_items = wire("Unshipped", us, OrderTotal=None, MarketplaceId="ATVPDKIKX0DER")
    assert prices_include_tax(parsed, parsed_items) is False
    parsed, parsed_items = wire("Unshipped", us, OrderTotal=None, MarketplaceId=DE)
    assert prices_include_tax(parsed, parsed_items) is True


def test_buyer_requested_cancellations():
    asked = [{**ITEM, "BuyerRequestedCancel": {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Too slow"}}]
    (accepted,) = seen_of("Canceled", asked).cancellations
    assert (accepted.request_id, accepted.state, accepted.cancel_reason, accepted.lines) == (
        "302-0000001-0000000:buyer-cancel", "ACCEPTED", "BUYER_CANCELLED", None
    )
    (denied,) = seen_of("Shipped", asked).cancellations
    assert denied.state == "DENIED" and denied.reason == "the order was shipped; the buyer's reason: Too slow"
    assert seen_of("Unshipped", asked).cancellations == ()
    not_asked = [{**ITEM, "BuyerRequestedCancel": {"IsBuyerRequestedCancel": "false"}}]
    assert seen_of("Canceled", not_asked).cancellations == ()


def test_addresses_and_names():
    assert split_name("Clara Maria Weber") == ("Clara Maria", "Weber")
    assert split_name("Weber") == (None, "Weber")
    assert split_name("  ") == (None, None)
    from channelport.connectors.amazon_sp_api_mapping import WireAddress

    address = map_address(WireAddress(Name="Anna Schmidt", AddressLine1="c/o Bauer", AddressLine2="Ring 4",
                                      City="Austin", StateOrRegion="TX", PostalCode="78701", CountryCode="US",
                                      CompanyName="ACME"))
    assert address is not None
    assert (address.first_name, address.street, address.city, address.company_name) == (
        "Anna", "c/o Bauer, Ring 4", "Austin, TX", "ACME"
    )
    assert map_address(WireAddress()) is None


# --------------------------------------------------------------------------- the kind


def config(url: str = "https://sellingpartnerapi-eu.amazon.com", **settings: Any) -> AccountConfig:
    return AccountConfig(url=url, seller_id="A2SELLER", token="Atzr|r",
                         settings={"marketplace_ids": DE, "lwa_client_id": "client", **settings},
                         secrets={"lwa_client_secret": "secret"})


def test_settings_take_a_comma_list_and_refuse_what_amazon_would_refuse():
    assert AmazonSettings(marketplace_ids=f"{DE}, APJ6JRA9NG5V4,{DE}", lwa_client_id="c").marketplace_ids == [
        DE, "APJ6JRA9NG5V4"
    ]
    with pytest.raises(UsageError, match="settle_seconds"):
        AmazonKind.create(config(settle_seconds=60))
    with pytest.raises(UsageError, match="marketplace_ids"):
        AmazonKind.create(config(marketplace_ids=""))


def test_a_marketplace_of_another_region_is_refused_with_the_right_endpoint():
    with pytest.raises(UsageError, match="ATVPDKIKX0DER .US. is served by https://sellingpartnerapi-na.amazon.com"):
        AmazonKind.create(config(marketplace_ids=f"{DE},ATVPDKIKX0DER"))
    AmazonKind.create(config(url="http://127.0.0.1:9", marketplace_ids="ATVPDKIKX0DER")).close()  # a test double


def test_the_lwa_client_secret_is_required():
    with pytest.raises(UsageError, match="--secret lwa_client_secret=ENVVAR"):
        AmazonKind.create(AccountConfig(url="https://sellingpartnerapi-eu.amazon.com", seller_id="S", token="t",
                                        settings={"marketplace_ids": DE, "lwa_client_id": "c"}))


def test_a_stored_snapshot_maps_again():
    t = NOW - timedelta(hours=1)
    amazon = ScriptedAmazon([[order(1, t)]])
    (batch,) = drain(connector(amazon, CursorState(cursor=NOW - timedelta(days=1)).to_json()))
    again = AmazonKind.parse(batch.items[0].raw)
    assert again.event == batch.items[0].event
    assert AmazonKind.parse({"order": order(1, t)}).problem.startswith("the stored snapshot has no order items")
