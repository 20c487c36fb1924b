"""The woocommerce connector: mapping, the keyset listing, keys and faults (MockTransport)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channelport.connectors.base import AccountConfig, EventImport
from channelport.connectors.polling import CursorState, PollingConnector
from channelport.connectors.woocommerce import WooCommerceKind
from channelport.connectors.woocommerce_mapping import gmt_instant, map_record
from channelport.domain.events import Address, Buyer, EventType, OrderSeen
from channelport.errors import CredentialsRejected, ProtocolError, UsageError

UTC = timezone.utc
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def gmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def record(order_id: int = 1001, *, status: str = "processing", modified: datetime | None = None, **extra: Any) -> dict[str, Any]:
    modified = modified or NOW - timedelta(hours=1)
    data: dict[str, Any] = {
        "id": order_id, "status": status, "currency": "EUR", "date_created_gmt": "2026-11-26T08:00:00",
        "date_modified_gmt": gmt(modified), "date_paid_gmt": "2026-11-26T08:01:00", "payment_method": "paypal",
        "billing": {"first_name": "Anna", "last_name": "Schmidt", "company": "", "address_1": "Ring 4",
                    "address_2": "Hinterhaus", "city": "Leipzig", "state": "", "postcode": "04109", "country": "DE",
                    "email": "anna@example.org", "phone": "0341 1"},
        "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "",
                     "state": "", "postcode": "", "country": "", "phone": ""},
        "line_items": [{"id": 7, "name": "Mug", "sku": "M-1", "quantity": 2, "total": "33.62", "total_tax": "6.38",
                        "price": 16.81}],
        "shipping_lines": [{"id": 8, "method_title": "DHL", "total": "4.12", "total_tax": "0.78"}],
        "fee_lines": [],
    }
    data.update(extra)
    return data


# --------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("status", "order_status", "item_status"),
    [
        ("pending", "CREATED", "UNSHIPPED"), ("on-hold", "CREATED", "UNSHIPPED"), ("failed", "CREATED", "UNSHIPPED"),
        ("processing", "ACCEPTED", "UNSHIPPED"), ("completed", "SHIPPED", "SHIPPED"),
        ("cancelled", "CANCELED_BY_SELLER", "CANCELED_BY_SELLER"), ("trash", "CANCELED_BY_SELLER", "CANCELED_BY_SELLER"),
        ("refunded", "CANCELED_BY_SELLER", "REFUNDED"),
    ],
)
def test_status_mapping(status, order_status, item_status):
    seen = map_record(record(status=status), seller_id="shop").event
    assert isinstance(seen, OrderSeen)
    assert seen.order.order_status == order_status
    assert {line.item_status for line in seen.order.lines} == {item_status}


def test_payment_follows_date_paid():
    assert {l.item_payment_status for l in map_record(record(), seller_id="s").event.order.lines} == {"PAID"}
    unpaid = map_record(record(status="on-hold", date_paid_gmt=None), seller_id="s").event
    assert {l.item_payment_status for l in unpaid.order.lines} == {"PENDING"}


def test_lines_addresses_and_buyer():
    fee = {"id": 9, "name": "Cash on delivery", "total": "2.00", "total_tax": "0.38"}
    received = map_record(record(fee_lines=[fee]), seller_id="shop")
    seen = received.event
    assert (received.event_id, received.created_at) == ("woo:1001:2026-11-27T11:00:00.000Z", NOW - timedelta(hours=1))
    assert seen.order_id == "1001" and seen.seller_id == "shop"
    item, fee_line, shipping = seen.order.lines
    assert (item.order_item_id, item.type, item.quantity, item.total, item.gross_price, item.tax_percent, item.sku) == (
        "7", "ITEM", Decimal(2), Decimal("40.00"), Decimal("20.00"), Decimal("19"), "M-1"
    )
    assert (fee_line.order_item_id, fee_line.type, fee_line.total, fee_line.title) == ("9", "ITEM", Decimal("2.38"), "Cash on delivery")
    assert (shipping.order_item_id, shipping.type, shipping.total, shipping.tax_percent) == (
        "8", "SHIPPING", Decimal("4.90"), Decimal("18.9")
    )
    assert seen.order.billing_address == Address(first_name="Anna", last_name="Schmidt", street="Ring 4, Hinterhaus",
                                                 postcode="04109", city="Leipzig", country="DE", phone="0341 1")
    assert seen.order.shipping_address is None  # all empty: a download
    assert seen.order.buyer == Buyer(email="anna@example.org")
    assert seen.order.purchased_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert seen.cancellations == ()


def test_unknown_statuses_and_malformed_records_are_kept_with_the_reason():
    custom = map_record(record(status="shipped-partially"), seller_id="s")
    assert custom.event is None and "'shipped-partially' is not a WooCommerce status" in custom.problem
    money_as_number = record()
    money_as_number["line_items"][0]["total"] = 33.62
    bad = map_record(money_as_number, seller_id="s")
    assert bad.event is None and "order.line_items[0].total" in bad.problem
    nameless = map_record({"status": "processing"}, seller_id="s")
    assert nameless.event is None and nameless.event_id.startswith("woo:nid:")


def test_gmt_times_without_offset_are_utc():
    assert gmt_instant("2026-11-26T08:00:00") == datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert gmt_instant("2026-11-26T09:00:00+01:00") == datetime(2026, 11, 26, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        gmt_instant(None)


# --------------------------------------------------------------------------- listing


class Shop:
    """An in-memory shop behind MockTransport: strict modified_after/_before, sorted by
    (modified, id), page/per_page, X-WP-TotalPages; `during` runs before each page."""

    def __init__(self, orders: dict[int, datetime]) -> None:
        self.orders = dict(orders)
        self.queries: list[dict[str, str]] = []
        self.during = lambda page: None
        self.auth: list[tuple[str | None, str | None]] = []
        self.answer: httpx.Response | None = None
        self.unsorted = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        self.queries.append(q)
        self.auth.append((request.headers.get("authorization"), q.get("consumer_key")))
        if self.answer is not None:
            return self.answer
        self.during(len(self.queries))
        after = datetime.fromisoformat(q["modified_after"].replace("Z", "+00:00"))
        before = datetime.fromisoformat(q["modified_before"].replace("Z", "+00:00"))
        rows = sorted(((m, i) for i, m in self.orders.items() if after < m < before), reverse=self.unsorted)
        per_page = int(q["per_page"])
        start = int(q["offset"]) if "offset" in q else (int(q.get("page", "1")) - 1) * per_page  # offset wins, as in WP
        chunk = rows[start : start + per_page]
        pages = -(-len(rows) // per_page)
        body = [record(i, modified=m) for m, i in chunk]
        return httpx.Response(200, json=body, headers={"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)})


def shop_config(**settings: Any) -> AccountConfig:
    return AccountConfig(url="https://shop.example.com", seller_id="shop", token="ck_key",
                         settings={"page_size": 3, "settle_seconds": 0, "requests_per_second": 10000, "burst": 10000,
                                   **settings},
                         secrets={"consumer_secret": "cs_secret"})


def connector(shop: Shop, cursor: datetime, **settings: Any) -> PollingConnector:
    conn = WooCommerceKind.create(shop_config(**settings), CursorState(cursor=cursor).to_json(),
                                  transport=httpx.MockTransport(shop))
    conn._clock = lambda: NOW  # type: ignore[attr-defined]
    return conn


def listed(conn: PollingConnector) -> list[tuple[str, datetime]]:
    out = []
    while not (batch := conn.pull(1000)).empty:
        out += [(item.event.order_id, item.created_at) for item in batch.items]
    return out


def test_pages_move_on_by_the_last_modification_and_step_through_one_second_by_offset():
    t = NOW - timedelta(hours=1)
    orders = {1: t, 2: t + timedelta(seconds=5), 3: t + timedelta(seconds=9),
              4: t + timedelta(seconds=20), 5: t + timedelta(seconds=20), 6: t + timedelta(seconds=20),
              7: t + timedelta(seconds=20), 8: t + timedelta(seconds=30)}
    shop = Shop(orders)
    conn = connector(shop, NOW - timedelta(days=1))
    assert sorted(listed(conn)) == sorted((str(i), m) for i, m in orders.items())
    keys = [(q["modified_after"], q.get("page"), q.get("offset")) for q in shop.queries]
    assert keys == [
        ("2026-11-26T12:00:00Z", "1", None),
        ("2026-11-27T11:00:08Z", "1", None),  # after the page that ended at :09, from :09 on
        ("2026-11-27T11:00:19Z", "1", None),  # four orders at :20
        ("2026-11-27T11:00:19Z", None, "2"),  # ... the rest by offset, from the last one read (the anchor)
    ]
    assert all(q["orderby"] == "modified" and q["order"] == "asc" and q["dates_are_gmt"] == "true" for q in shop.queries)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=25),
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 24), st.booleans()), max_size=6),
    st.integers(1, 4),
)
def test_no_order_slips_between_pages_whatever_is_modified_while_they_are_read(seconds, changes, page_size):
    """Every order not modified during the scan is listed; a modified one is listed in its
    new version, in this scan (modified inside the window) or the next (after it)."""
    t = NOW - timedelta(hours=1)
    orders = {1000 + n: t + timedelta(seconds=s) for n, s in enumerate(seconds)}
    shop = Shop(orders)
    untouched = set(orders)

    def during(page: int) -> None:
        for when, index, inside in changes:
            if when == page and 1000 + index in shop.orders:
                order_id = 1000 + index
                untouched.discard(order_id)
                shop.orders[order_id] = (t + timedelta(minutes=30)) if inside else NOW + timedelta(minutes=1)

    shop.during = during
    seen = set(listed(connector(shop, NOW - timedelta(days=1), page_size=page_size)))
    for order_id in untouched:
        assert (str(order_id), orders[order_id]) in seen
    for order_id in set(orders) - untouched:
        new = shop.orders[order_id]
        assert new > NOW or (str(order_id), new) in seen


def test_a_shop_that_ignores_orderby_modified_is_stopped():
    shop = Shop({1: NOW - timedelta(hours=2), 2: NOW - timedelta(hours=1)})
    shop.unsorted = True
    with pytest.raises(ProtocolError, match="did not sort the orders by modification date"):
        listed(connector(shop, NOW - timedelta(days=1)))


def test_a_shop_that_ignores_offset_is_stopped():
    t = NOW - timedelta(hours=1)
    shop = Shop({n: t for n in range(10)})
    original = shop.__call__

    def first_page_only(request: httpx.Request) -> httpx.Response:
        return original(httpx.Request("GET", request.url.copy_remove_param("offset"), headers=request.headers))

    conn = WooCommerceKind.create(shop_config(), CursorState(cursor=NOW - timedelta(days=1)).to_json(),
                                  transport=httpx.MockTransport(first_page_only))
    conn._clock = lambda: NOW  # type: ignore[attr-defined]
    with pytest.raises(ProtocolError, match="ignores the `offset` parameter"):
        listed(conn)


def test_keys_go_as_basic_auth_or_as_query_parameters():
    shop = Shop({1: NOW - timedelta(hours=1)})
    listed(connector(shop, NOW - timedelta(days=1)))
    assert shop.auth[0] == ("Basic " + base64.b64encode(b"ck_key:cs_secret").decode(), None)
    shop = Shop({1: NOW - timedelta(hours=1)})
    listed(connector(shop, NOW - timedelta(days=1), auth="query"))
    assert shop.auth[0] == (None, "ck_key") and shop.queries[0]["consumer_secret"] == "cs_secret"


def test_rejected_keys_say_where_to_make_new_ones():
    shop = Shop({})
    shop.answer = httpx.Response(401, json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."})
    with pytest.raises(CredentialsRejected, match="woocommerce_rest_cannot_view.*WooCommerce > Settings > Advanced > REST API"):
        listed(connector(shop, NOW - timedelta(days=1)))


def test_a_url_that_is_not_the_shop_is_a_readable_error():
    shop = Shop({})
    shop.answer = httpx.Response(200, text="<html>my blog</html>")
    with pytest.raises(ProtocolError, match="the answer is not JSON .*'<html>my blog</html>'.*is the URL the API's"):
        listed(connector(shop, NOW - timedelta(days=1)))
    shop.answer = httpx.Response(200, json={"not": "a list"})
    with pytest.raises(ProtocolError, match="expected a JSON array of orders"):
        listed(connector(shop, NOW - timedelta(days=1)))


def test_settings_and_secret_are_checked():
    with pytest.raises(UsageError, match="page_size"):
        WooCommerceKind.create(shop_config(page_size=101))
    with pytest.raises(UsageError, match="--secret consumer_secret=ENVVAR"):
        WooCommerceKind.create(AccountConfig(url="https://shop.example.com", seller_id="s", token="ck"))


def test_drafts_are_skipped_and_a_subscribe_starts_from_the_request():
    shop = Shop({})
    conn = WooCommerceKind.create(shop_config(), transport=httpx.MockTransport(shop))
    conn.subscribe([EventImport(EventType.ORDER, True, datetime(2026, 11, 20, tzinfo=UTC), True)])
    assert conn.state()["cursor"] == "2026-11-20T00:00:00.000Z"
    assert conn.listing.snapshot(record(status="checkout-draft")) is None
    assert WooCommerceKind.parse({"sellerId": "shop", "order": record()}).event.seller_id == "shop"
