"""Helpers for the simulator's tests: a protocol payload checker and an independent fold.

`fold` rebuilds every order's state from the simulator's event log by the rules of
docs/order-semantics.md, written here a second time on purpose: when it agrees with
`Marketplace.truth`, the truth is what a correct client must end up with from the
events the channel actually sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from channelport.domain.money import decimal_text
from channelport.simulator import (
    ADDRESS,
    CANCEL_ACCEPTED,
    CANCEL_DENIED,
    KNOWN_TYPES,
    NEW,
    STATUS,
)

RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
ADDRESS_FIELDS = (
    "firstName",
    "lastName",
    "street",
    "houseNumber",
    "postcode",
    "city",
    "country",
    "phone",
    "companyName",
)
ORDER_STATUSES = {
    "UNACKED",
    "CREATED",
    "ACCEPTED",
    "SHIPPED",
    "PARTIALLY_SHIPPED",
    "CANCELED_BY_SELLER",
    "CANCELED_BY_BUYER",
}
ITEM_STATUSES = {"UNSHIPPED", "SHIPPED", "CANCELED_BY_SELLER", "CANCELED_BY_BUYER", "RETURNED", "REFUNDED"}
CANCEL_REASONS = {
    "BUYER_CANCELLED",
    "UNDELIVERABLE_TO_SHIPPING_ADDRESS",
    "UNDELIVERABLE_BY_CARRIER",
    "OUT_OF_STOCK",
    "DELAYED_INVENTORY",
    "PRICING_ERROR",
    "OTHER",
}
ALL_TYPES = list(KNOWN_TYPES)


# --- HTTP helpers -------------------------------------------------------------------
def subscribe(client: httpx.Client, types: Iterable[str] = KNOWN_TYPES, since: str | None = None) -> httpx.Response:
    imports = [{"type": t, **({"createdAfter": since} if since else {})} for t in types]
    return client.put("/v2/seller/event-imports", json={"eventImports": imports})


def pull(client: httpx.Client, limit: int = 1000, types: Iterable[str] | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit}
    if types is not None:
        params["eventTypeFilter"] = ",".join(types)
    response = client.get("/v2/seller/event", params=params)
    assert response.status_code == 200, response.text
    return response.json()["eventList"]


def ack(client: httpx.Client, ids: list[str]) -> int:
    total = 0
    for start in range(0, len(ids), 100):
        response = client.request("DELETE", "/v2/seller/event", json={"eventIdList": ids[start : start + 100]})
        assert response.status_code == 200, response.text
        total += response.json()["acknowledged"]
    return total


def drain(client: httpx.Client, types: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Pull and acknowledge until nothing is visible; every delivered event, in order."""
    seen: list[dict[str, Any]] = []
    while True:
        page = pull(client, 1000, types)
        if not page:
            return seen
        seen.extend(page)
        ack(client, [e["id"] for e in page])


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"errorList"} and body["errorList"], body
    for error in body["errorList"]:
        assert set(error) == {"code", "message"} and error["code"] and error["message"]
    return body


# --- payload checks (the protocol page) ---------------------------------------------
def _decimal(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        number = Decimal(value)
    except ArithmeticError:
        return False
    return number.is_finite() and "e" not in value.lower()


def _address(value: Any, where: str) -> list[str]:
    problems = []
    if not isinstance(value, dict):
        return [f"{where} is not an object"]
    if set(value) - set(ADDRESS_FIELDS):
        problems.append(f"{where} has unknown fields {set(value) - set(ADDRESS_FIELDS)}")
    for required in ("lastName", "street", "city", "country"):
        if not value.get(required):
            problems.append(f"{where}.{required} missing")
    if not re.fullmatch(r"[A-Z]{2}", str(value.get("country"))):
        problems.append(f"{where}.country not alpha-2")
    return problems


def payload_problems(type_: str, event: Mapping[str, Any]) -> list[str]:
    """What in a payload breaks the protocol page (empty when it fits)."""
    problems: list[str] = []
    if not isinstance(event.get("sellerId"), str):
        problems.append("sellerId")
    order_id = event.get("orderId")
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 150:
        problems.append("orderId")
    if type_ == NEW:
        for key in ("orderStatus", "purchasedAt", "lastChangedAt", "currency", "orderItem"):
            if key not in event:
                problems.append(f"missing {key}")
        if event.get("orderStatus") not in ORDER_STATUSES:
            problems.append("orderStatus")
        for key in ("purchasedAt", "lastChangedAt"):
            if not RFC3339_MS.fullmatch(str(event.get(key))):
                problems.append(key)
        if not re.fullmatch(r"[A-Z]{3}", str(event.get("currency"))):
            problems.append("currency")
        for part in ("billingAddress", "shippingAddress"):
            if event.get(part) is not None:
                problems += _address(event[part], part)
        items = event.get("orderItem")
        if not isinstance(items, list) or not items:
            problems.append("orderItem")
            return problems
        for item in items:
            if not isinstance(item, dict):
                problems.append("orderItem entry")
                continue
            for key in ("quantity", "grossPrice", "total", "taxPercent"):
                if not _decimal(item.get(key)):
                    problems.append(f"orderItem.{key}={item.get(key)!r}")
            if item.get("type") not in ("ITEM", "SHIPPING"):
                problems.append("orderItem.type")
            if item.get("itemStatus") not in ITEM_STATUSES:
                problems.append("orderItem.itemStatus")
            if item.get("itemPaymentStatus") not in ("PENDING", "PAID"):
                problems.append("orderItem.itemPaymentStatus")
    elif type_ == STATUS:
        if event.get("orderStatus") not in ORDER_STATUSES:
            problems.append("orderStatus")
        for item in event.get("orderItems", []):
            if set(item) - {"orderItemId", "itemStatus", "paymentStatus"} or "orderItemId" not in item:
                problems.append(f"orderItems entry {item}")
            if "itemStatus" in item and item["itemStatus"] not in ITEM_STATUSES:
                problems.append("orderItems.itemStatus")
            if "paymentStatus" in item and item["paymentStatus"] not in ("PENDING", "PAID"):
                problems.append("orderItems.paymentStatus")
    elif type_ == ADDRESS:
        if not set(event) & {"billingAddress", "shippingAddress", "buyer"}:
            problems.append("no part")
        for part in ("billingAddress", "shippingAddress"):
            if part in event:
                problems += _address(event[part], part)
    elif type_ == CANCEL_ACCEPTED:
        if not isinstance(event.get("orderCancellationRequestId"), str):
            problems.append("orderCancellationRequestId")
        if event.get("cancelReason") not in CANCEL_REASONS:
            problems.append("cancelReason")
        for item in event.get("orderItem", []):
            if not _decimal(item.get("quantity")) or not isinstance(item.get("orderItemId"), str):
                problems.append(f"orderItem entry {item}")
    elif type_ == CANCEL_DENIED:
        if not isinstance(event.get("orderCancellationRequestId"), str):
            problems.append("orderCancellationRequestId")
        if not isinstance(event.get("reason"), str) or len(event["reason"]) > 250:
            problems.append("reason")
    else:
        problems.append(f"unknown type {type_}")
    return problems


# --- the independent fold --------------------------------------------------------------
def _address_nine(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else {name: value.get(name) for name in ADDRESS_FIELDS}


def fold(log: list[dict[str, Any]], account: str) -> list[dict[str, Any]]:
    """Apply the (valid, non-injected) events of an event log in createdAt order."""
    orders: dict[str, dict[str, Any]] = {}
    for entry in sorted((e for e in log if not e["injected"]), key=lambda e: e["createdAt"]):
        event, type_ = entry["event"], entry["type"]
        if type_ == NEW:
            assert event["orderId"] not in orders
            orders[event["orderId"]] = {
                "orderId": event["orderId"],
                "orderStatus": event["orderStatus"],
                "currency": event["currency"],
                "purchasedAt": event["purchasedAt"],
                "paymentMethod": event.get("paymentMethod"),
                "buyer": None
                if event.get("buyer") is None
                else {"email": event["buyer"].get("email"), "vatId": event["buyer"].get("vatId")},
                "billingAddress": _address_nine(event.get("billingAddress")),
                "shippingAddress": _address_nine(event.get("shippingAddress")),
                "items": [dict(item, cancelled=Decimal(0)) for item in event["orderItem"]],
                "requests": {},
            }
            continue
        order = orders[event["orderId"]]
        items = {item["orderItemId"]: item for item in order["items"]}
        if type_ == STATUS:
            order["orderStatus"] = event["orderStatus"]
            for change in event.get("orderItems", []):
                item = items[change["orderItemId"]]
                if "itemStatus" in change:
                    item["itemStatus"] = change["itemStatus"]
                if "paymentStatus" in change:
                    item["itemPaymentStatus"] = change["paymentStatus"]
        elif type_ == ADDRESS:
            for part in ("billingAddress", "shippingAddress"):
                if part in event:
                    order[part] = _address_nine(event[part])
            if "buyer" in event:
                order["buyer"] = {"email": event["buyer"].get("email"), "vatId": event["buyer"].get("vatId")}
        elif type_ == CANCEL_ACCEPTED:
            request_id = event["orderCancellationRequestId"]
            assert request_id not in order["requests"]
            if "orderItem" in event:  # grows by the quantity (plain sum); the channel never overshoots
                for line in event["orderItem"]:
                    item = items[line["orderItemId"]]
                    assert item["cancelled"] + Decimal(line["quantity"]) <= Decimal(item["quantity"])
                    item["cancelled"] += Decimal(line["quantity"])
            else:  # becomes the quantity, spelled as the quantity
                for item in order["items"]:
                    if item["cancelled"] != Decimal(item["quantity"]):
                        item["cancelled"] = Decimal(item["quantity"])
            order["requests"][request_id] = ("ACCEPTED", event["cancelReason"], None)
        elif type_ == CANCEL_DENIED:
            request_id = event["orderCancellationRequestId"]
            assert request_id not in order["requests"]
            order["requests"][request_id] = ("DENIED", None, event["reason"])
    out = []
    for order_id in sorted(orders):
        order = orders[order_id]
        all_cancelled = all(item["cancelled"] == Decimal(item["quantity"]) for item in order["items"])
        out.append(
            {
                "account": account,
                "orderId": order_id,
                "orderStatus": "CANCELED_BY_SELLER" if all_cancelled else order["orderStatus"],
                "currency": order["currency"],
                "purchasedAt": order["purchasedAt"],
                "paymentMethod": order["paymentMethod"],
                "buyer": order["buyer"],
                "billingAddress": order["billingAddress"],
                "shippingAddress": order["shippingAddress"],
                "orderItem": [
                    {
                        "orderItemId": item["orderItemId"],
                        "type": item["type"],
                        "sku": item.get("sku"),
                        "quantity": decimal_text(Decimal(item["quantity"])),
                        "cancelledQuantity": decimal_text(item["cancelled"]),
                        "grossPrice": decimal_text(Decimal(item["grossPrice"])),
                        "total": decimal_text(Decimal(item["total"])),
                        "taxPercent": decimal_text(Decimal(item["taxPercent"])),
                        "itemStatus": "CANCELED_BY_SELLER"
                        if item["cancelled"] == Decimal(item["quantity"])
                        else item["itemStatus"],
                        "itemPaymentStatus": item["itemPaymentStatus"],
                    }
                    for item in order["items"]
                ],
                "cancellationRequests": [
                    {"orderCancellationRequestId": rid, "state": state, "cancelReason": reason, "reason": text}
                    for rid, (state, reason, text) in sorted(order["requests"].items())
                ],
            }
        )
    return out
