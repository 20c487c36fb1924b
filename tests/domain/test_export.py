"""The export format, written out by hand: keys, key order and every spelling."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from channelport.domain.events import Buyer
from channelport.domain.export import order_export
from channelport.domain.order import OrderState
from channelport.domain.rules import apply

from .builders import SELLER, accepted, address_update, at, denied, item, line, new_order, status_update

ANNA_JSON = {
    "firstName": "Anna",
    "lastName": "Schmidt",
    "street": "Hauptstr.",
    "houseNumber": "5",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
    "phone": None,
    "companyName": None,
}


def fold(*events) -> OrderState:
    order = None
    for event in events:
        order = apply(order, event, seller_id=SELLER).order
    return order


def test_export_of_a_changed_order_is_exactly_the_documented_object():
    order = fold(
        new_order(
            "KL-2026-000123",
            lines=(line("1"), line("2", type="SHIPPING", quantity="1", gross_price="4.90", total="4.90", sku=None)),
        ),
        status_update("KL-2026-000123", when=at(10), status="SHIPPED", items=(item("1", "SHIPPED"),)),
        accepted("KL-2026-000123", when=at(20), request_id="R-b", lines={"1": "1"}),
        denied("KL-2026-000123", when=at(30), request_id="R-a", reason="already shipped"),
        address_update(
            "KL-2026-000123",
            when=at(40),
            shipping=None,
            billing=None,
            buyer=Buyer(email="anna@example.org", vat_id="DE123"),
        ),
    )
    exported = order_export("kaufland-main", order)
    assert exported == {
        "account": "kaufland-main",
        "orderId": "KL-2026-000123",
        "orderStatus": "SHIPPED",
        "currency": "EUR",
        "purchasedAt": "2026-11-20T08:15:02.120Z",
        "paymentMethod": "paypal",
        "buyer": {"email": "anna@example.org", "vatId": "DE123"},
        "billingAddress": ANNA_JSON,
        "shippingAddress": ANNA_JSON,
        "orderItem": [
            {
                "orderItemId": "1",
                "type": "ITEM",
                "sku": "SKU-1",
                "quantity": "2",
                "cancelledQuantity": "1",
                "grossPrice": "19.99",
                "total": "39.98",
                "taxPercent": "19",
                "itemStatus": "SHIPPED",
                "itemPaymentStatus": "PAID",
            },
            {
                "orderItemId": "2",
                "type": "SHIPPING",
                "sku": None,
                "quantity": "1",
                "cancelledQuantity": "0",
                "grossPrice": "4.90",
                "total": "4.90",
                "taxPercent": "19",
                "itemStatus": "UNSHIPPED",
                "itemPaymentStatus": "PAID",
            },
        ],
        "cancellationRequests": [
            {"orderCancellationRequestId": "R-a", "state": "DENIED", "cancelReason": None, "reason": "already shipped"},
            {"orderCancellationRequestId": "R-b", "state": "ACCEPTED", "cancelReason": "OUT_OF_STOCK", "reason": None},
        ],
    }
    assert list(exported) == [
        "account", "orderId", "orderStatus", "currency", "purchasedAt", "paymentMethod", "buyer",
        "billingAddress", "shippingAddress", "orderItem", "cancellationRequests",
    ]  # fmt: skip
    assert list(exported["orderItem"][0]) == [
        "orderItemId", "type", "sku", "quantity", "cancelledQuantity", "grossPrice", "total",
        "taxPercent", "itemStatus", "itemPaymentStatus",
    ]  # fmt: skip
    assert list(exported["billingAddress"]) == list(ANNA_JSON)
    json.dumps(exported)  # JSON-serialisable as is


def test_missing_buyer_and_addresses_are_null_and_cancelled_items_show_cancelled():
    order = fold(new_order(buyer=None, billing=None, shipping=None, status="ACCEPTED"), accepted(when=at(5)))
    exported = order_export("a", order)
    assert exported["buyer"] is None and exported["billingAddress"] is None and exported["shippingAddress"] is None
    assert exported["orderStatus"] == "CANCELED_BY_SELLER"
    assert [(i["cancelledQuantity"], i["itemStatus"]) for i in exported["orderItem"]] == [
        ("2", "CANCELED_BY_SELLER"),
        ("1", "CANCELED_BY_SELLER"),
    ]


def test_decimals_keep_the_spelling_the_channel_sent():
    order = fold(new_order(lines=(line("1", quantity="3", gross_price="4.90", total="14.70", tax_percent="7.0"),)))
    [exported] = order_export("a", order)["orderItem"]
    assert (exported["quantity"], exported["grossPrice"], exported["total"], exported["taxPercent"]) == (
        "3",
        "4.90",
        "14.70",
        "7.0",
    )
    assert exported["cancelledQuantity"] == "0"


def test_purchased_at_is_utc_with_milliseconds():
    when = datetime(2026, 3, 29, 3, 30, 0, 5000, tzinfo=timezone(timedelta(hours=2)))
    order = fold(new_order(when=when))
    assert order_export("a", order)["purchasedAt"] == "2026-03-29T01:30:00.005Z"
