"""A stateful fake of a WooCommerce shop's REST API v3 orders listing, over loopback HTTP.

`GET /wp-json/wc/v3/orders` with modified_after / modified_before (strict, GMT with
`dates_are_gmt=true`), orderby=modified|date, order, page, offset, per_page (1 to 100, else
400 `rest_invalid_param`), X-WP-Total and X-WP-TotalPages, consumer key and secret as
HTTP Basic or as query parameters. Misbehaviour on request: scripted answers (429 with
Retry-After, 503), a paginator that ignores `page` and `offset`, and a hook called before each page
so a test can modify orders while a backfill runs (which shifts the pages after them).

Times are real UTC in whole seconds; a write is stamped `lag` seconds in the past (the
connector's listing ends `settle_seconds` behind the shop's clock). `truth()` states
what Channelport must end with, in the export format, independently of the mapping.
"""

from __future__ import annotations

import base64
import itertools
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

UTC = timezone.utc
PRICES = [("16.81", "3.19"), ("10.00", "1.90"), ("4.67", "0.33"), ("25.21", "4.79")]  # net, tax (19 %, 7 %)
PEOPLE = [("Anna", "Schmidt"), ("Bernd", "Bauer"), ("Clara", "Weber"), ("Dieter", "Koch")]


def gmt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def ms(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class WooOrder:
    id: int
    status: str
    created: datetime
    modified: datetime
    paid: datetime | None
    billing: dict[str, str]
    shipping: dict[str, str]
    lines: list[dict[str, Any]]  # {"id", "sku", "name", "quantity", "unit_net", "unit_tax"}
    shipping_line: dict[str, Any] | None  # {"id", "total", "total_tax"}


@dataclass
class Faults:
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    ignore_page: bool = False
    on_page: Callable[[int], None] | None = None

    def script(self, status: int, count: int, headers: dict[str, str] | None = None) -> None:
        for _ in range(count):
            self.answers.append((status, dict(headers or {})))


class FakeWooCommerce:
    def __init__(self, *, key: str = "ck_test", secret: str = "cs_test", lag: float = 30.0, seed: int = 5) -> None:
        self.key, self.secret, self.lag = key, secret, lag
        self.random = random.Random(seed)
        self.orders: dict[int, WooOrder] = {}
        self.faults = Faults()
        self.requests: list[dict[str, str]] = []
        self.pages = 0
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._line_ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/wp-json/wc/v3/orders", self._orders)])

    def stamp(self) -> datetime:
        return now() - timedelta(seconds=self.lag)

    def add_order(self, *, created: datetime, status: str = "processing", items: int | None = None,
                  modified: datetime | None = None, digital: bool = False) -> WooOrder:
        with self.lock:
            order_id = next(self._ids)
            first, last = self.random.choice(PEOPLE)
            billing = {
                "first_name": first, "last_name": last, "company": "", "address_1": f"Ringstr. {order_id}",
                "address_2": "", "city": "Leipzig", "state": "", "postcode": "04109", "country": "DE",
                "email": f"{first.lower()}.{order_id}@example.org", "phone": f"0341 {order_id}",
            }
            shipping = {key: value for key, value in billing.items() if key not in ("email", "phone")}
            shipping["phone"] = ""
            if digital:
                shipping = {key: "" for key in shipping}
            lines = []
            for _ in range(items if items is not None else self.random.randint(1, 3)):
                net, tax = self.random.choice(PRICES)
                lines.append({"id": next(self._line_ids), "sku": f"W-{self.random.randrange(100):03d}",
                              "name": "Mug", "quantity": self.random.randint(1, 3), "unit_net": net, "unit_tax": tax})
            ship = None if digital else {"id": next(self._line_ids), "total": "4.12", "total_tax": "0.78"}
            paid = created if status in ("processing", "completed", "refunded") else None
            order = WooOrder(order_id, status, created, modified or created, paid, billing, shipping, lines, ship)
            self.orders[order_id] = order
            return order

    def seed(self, count: int, *, start: datetime, end: datetime) -> list[WooOrder]:
        statuses = ["processing", "completed", "pending", "on-hold", "cancelled", "refunded", "failed", "processing"]
        span = (end - start).total_seconds()
        made = []
        for n in range(count):
            created = (start + timedelta(seconds=span * n / max(1, count))).replace(microsecond=0)
            made.append(self.add_order(created=created, status=statuses[n % len(statuses)], digital=n % 7 == 3,
                                       modified=created + timedelta(minutes=2)))
        return made

    def change(self, order_id: int, *, status: str | None = None, paid: bool | None = None,
               shipping: dict[str, str] | None = None, at: datetime | None = None) -> WooOrder:
        with self.lock:
            order = self.orders[order_id]
            if status is not None:
                order.status = status
                if status in ("processing", "completed") and order.paid is None:
                    order.paid = at or self.stamp()
            if paid is not None:
                order.paid = (at or self.stamp()) if paid else None
            if shipping is not None:
                order.shipping = {**order.shipping, **shipping}
            order.modified = at or self.stamp()
            return order

    # --- what Channelport must end with ----------------------------------------------

    def truth(self, account: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self._export(account, order) for order in sorted(self.orders.values(), key=lambda o: str(o.id))
                    if order.status != "checkout-draft"]

    def _export(self, account: str, order: WooOrder) -> dict[str, Any]:
        status = {"pending": "CREATED", "on-hold": "CREATED", "failed": "CREATED", "processing": "ACCEPTED",
                  "completed": "SHIPPED", "cancelled": "CANCELED_BY_SELLER", "trash": "CANCELED_BY_SELLER",
                  "refunded": "CANCELED_BY_SELLER"}[order.status]
        item_status = {"completed": "SHIPPED", "cancelled": "CANCELED_BY_SELLER", "trash": "CANCELED_BY_SELLER",
                       "refunded": "REFUNDED"}.get(order.status, "UNSHIPPED")
        payment = "PAID" if order.paid else "PENDING"
        lines = []
        for line in order.lines:
            unit = Decimal(line["unit_net"]) + Decimal(line["unit_tax"])
            lines.append({
                "orderItemId": str(line["id"]), "type": "ITEM", "sku": line["sku"], "quantity": str(line["quantity"]),
                "cancelledQuantity": "0", "grossPrice": str(unit), "total": str(unit * line["quantity"]),
                "taxPercent": _percent(Decimal(line["unit_tax"]), Decimal(line["unit_net"])),
                "itemStatus": item_status, "itemPaymentStatus": payment,
            })
        if order.shipping_line:
            total = Decimal(order.shipping_line["total"]) + Decimal(order.shipping_line["total_tax"])
            lines.append({
                "orderItemId": str(order.shipping_line["id"]), "type": "SHIPPING", "sku": None, "quantity": "1",
                "cancelledQuantity": "0", "grossPrice": str(total), "total": str(total),
                "taxPercent": _percent(Decimal(order.shipping_line["total_tax"]), Decimal(order.shipping_line["total"])),
                "itemStatus": item_status, "itemPaymentStatus": payment,
            })
        return {
            "account": account, "orderId": str(order.id), "orderStatus": status, "currency": "EUR",
            "purchasedAt": ms(order.created), "paymentMethod": "paypal",
            "buyer": {"email": order.billing["email"], "vatId": None},
            "billingAddress": _address(order.billing), "shippingAddress": _address(order.shipping),
            "orderItem": lines, "cancellationRequests": [],
        }

    # --- HTTP --------------------------------------------------------------------------

    def _json(self, order: WooOrder) -> dict[str, Any]:
        items = []
        for line in order.lines:
            qty = line["quantity"]
            items.append({
                "id": line["id"], "name": line["name"], "product_id": 77, "variation_id": 0, "quantity": qty,
                "tax_class": "", "subtotal": str(Decimal(line["unit_net"]) * qty),
                "subtotal_tax": str(Decimal(line["unit_tax"]) * qty), "total": str(Decimal(line["unit_net"]) * qty),
                "total_tax": str(Decimal(line["unit_tax"]) * qty), "taxes": [], "meta_data": [], "sku": line["sku"],
                "price": float(line["unit_net"]),
            })
        shipping_lines = []
        if order.shipping_line:
            shipping_lines.append({"id": order.shipping_line["id"], "method_title": "DHL", "method_id": "flat_rate",
                                   "total": order.shipping_line["total"], "total_tax": order.shipping_line["total_tax"],
                                   "taxes": [], "meta_data": []})
        return {
            "id": order.id, "parent_id": 0, "number": str(order.id), "order_key": f"wc_order_{order.id}",
            "created_via": "checkout", "version": "9.4.0", "status": order.status, "currency": "EUR",
            "date_created": gmt(order.created), "date_created_gmt": gmt(order.created),
            "date_modified": gmt(order.modified), "date_modified_gmt": gmt(order.modified),
            "discount_total": "0.00", "shipping_total": "4.12", "total": "0.00", "prices_include_tax": False,
            "customer_id": 0, "billing": order.billing, "shipping": order.shipping, "payment_method": "paypal",
            "payment_method_title": "PayPal", "transaction_id": "",
            "date_paid": gmt(order.paid) if order.paid else None,
            "date_paid_gmt": gmt(order.paid) if order.paid else None,
            "date_completed": None, "date_completed_gmt": None, "meta_data": [], "line_items": items,
            "tax_lines": [], "shipping_lines": shipping_lines, "fee_lines": [], "coupon_lines": [], "refunds": [],
        }

    def _authorized(self, request: Request) -> bool:
        q = request.query_params
        if q.get("consumer_key") is not None:
            return q.get("consumer_key") == self.key and q.get("consumer_secret") == self.secret
        header = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        return header == expected

    async def _orders(self, request: Request) -> Response:
        q = request.query_params
        self.requests.append(dict(q))
        if self.faults.answers:
            status, headers = self.faults.answers.popleft()
            return JSONResponse({"code": "http_error", "message": "busy", "data": {"status": status}}, status, headers)
        if not self._authorized(request):
            return JSONResponse({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                                 "data": {"status": 401}}, 401)
        per_page = int(q.get("per_page", "10"))
        if not 1 <= per_page <= 100 or q.get("orderby", "date") not in ("date", "modified") \
                or q.get("dates_are_gmt") != "true":
            return JSONResponse({"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page, orderby",
                                 "data": {"status": 400}}, 400)
        if self.faults.ignore_page:  # a plugin that rewrites the query: always the first page
            start = 0
        else:  # as in WP_Query: `offset` wins over `page`
            start = int(q["offset"]) if "offset" in q else (int(q.get("page", "1")) - 1) * per_page
        after = datetime.fromisoformat(q["modified_after"].replace("Z", "+00:00")) if q.get("modified_after") else None
        before = datetime.fromisoformat(q["modified_before"].replace("Z", "+00:00")) if q.get("modified_before") else None
        with self.lock:
            self.pages += 1
            if self.faults.on_page is not None:
                self.faults.on_page(self.pages)
            rows = [o for o in self.orders.values()
                    if (after is None or o.modified > after) and (before is None or o.modified < before)]
            key = (lambda o: (o.modified, o.id)) if q.get("orderby") == "modified" else (lambda o: (o.created, o.id))
            rows.sort(key=key, reverse=q.get("order", "desc") == "desc")
            total = len(rows)
            chunk = rows[start : start + per_page]
            body = [self._json(o) for o in chunk]
        pages = -(-total // per_page)
        return JSONResponse(body, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})


def _address(data: dict[str, str]) -> dict[str, Any] | None:
    def text(key: str) -> str | None:
        return data.get(key) or None

    city = text("city")
    if text("state"):
        city = f"{city}, {data['state']}" if city else data["state"]
    street = ", ".join(part for part in (text("address_1"), text("address_2")) if part) or None
    address = {"firstName": text("first_name"), "lastName": text("last_name"), "street": street, "houseNumber": None,
               "postcode": text("postcode"), "city": city, "country": text("country"), "phone": text("phone"),
               "companyName": text("company")}
    return None if all(value is None for value in address.values()) else address


def _percent(tax: Decimal, net: Decimal) -> str:
    value = (tax * 100 / net).quantize(Decimal("0.1"))
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value.normalize())
