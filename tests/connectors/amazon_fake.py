"""A stateful fake of SP-API Orders v0 and Login with Amazon, for tests over loopback HTTP.

It keeps its orders in Amazon's terms, answers `getOrders` (LastUpdatedAfter/Before,
MarketplaceIds, MaxResultsPerPage, NextToken), `getOrderItems` (in pages, NextToken),
`getOrderAddress`, the LWA token endpoint and the Tokens API's Restricted Data Token
(without one, addresses come without names, street lines and phone), enforces what
Amazon enforces (a valid access token, LastUpdatedBefore at least two minutes ago, 1
to 100 per page), and can misbehave on request: scripted answers (429 bursts, 503
outages), expired access tokens, a refused refresh token or Restricted Data Token, a
paginator that returns the same page forever, and a hook called before each getOrders
page so a test can change orders while a backfill runs.

Times are real UTC (the connector reads its own clock), in whole seconds. A write is
stamped `lag` seconds in the past (200 by default), so it is visible at once despite
the two-minute rule; `change(..., at=...)` stamps a late write explicitly.

`truth()` states, independently of the connector's mapping, what Channelport must end
with: the export of every importable order, in the stable export format.
"""

from __future__ import annotations

import base64
import itertools
import json
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
DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
ADDRESS_STATUSES = {"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"}
PENDING = {"Pending", "PendingAvailability"}

# (gross unit price, tax in it): 19 % and 7 % exactly.
PRICES = [("11.90", "1.90"), ("23.80", "3.80"), ("5.35", "0.35"), ("10.70", "0.70"), ("59.50", "9.50")]
NAMES = ["Anna Schmidt", "Bernd Bauer", "Clara Maria Weber", "Dieter Koch", "Eva Wagner", "Fatma Yilmaz"]
CITIES = [("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667")]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class FakeItem:
    item_id: str
    sku: str
    qty: int
    unit: str
    unit_tax: str
    shipped: int = 0
    cancel_reason: str | None = None  # set: the buyer asked to cancel

    def amount(self, text: str) -> str:
        return str((Decimal(text) * self.qty).quantize(Decimal("0.01")))


@dataclass
class FakeOrder:
    order_id: str
    marketplace: str
    purchased: datetime
    updated: datetime
    status: str
    items: list[FakeItem]
    address: dict[str, str]
    email: str
    shipping: tuple[str, str] | None = ("5.95", "0.95")
    keep_address: bool = False  # cancelled after a sync had imported its address

    def total(self) -> str:
        amount = sum((Decimal(i.amount(i.unit)) for i in self.items), Decimal(0))
        if self.shipping:
            amount += Decimal(self.shipping[0])
        return str(amount)


@dataclass
class Faults:
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)  # scripted (status, headers)
    repeat_page: bool = False  # getOrders: the first page with the same NextToken, forever
    on_page: Callable[[int], None] | None = None  # called before the n-th getOrders answer (1-based)
    refuse_refresh_token: bool = False
    refuse_restricted: bool = False  # the app lacks the Direct-to-Consumer Shipping role

    def script(self, status: int, count: int, headers: dict[str, str] | None = None) -> None:
        for _ in range(count):
            self.answers.append((status, dict(headers or {})))


class FakeSpApi:
    def __init__(
        self,
        *,
        client_id: str = "amzn1.application-oa2-client.test",
        client_secret: str = "lwa-secret",
        refresh_token: str = "Atzr|refresh",
        rate: str = "200",
        items_per_page: int = 2,
        lag: float = 200.0,
        seed: int = 11,
        address_in_listing: bool = True,
    ) -> None:
        self.address_in_listing = address_in_listing  # False: only getOrderAddress has it
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.rate = rate
        self.items_per_page = items_per_page
        self.lag = lag
        self.random = random.Random(seed)
        self.orders: dict[str, FakeOrder] = {}
        self.faults = Faults()
        self.tokens: dict[str, bool] = {}  # access token (or Restricted Data Token) -> still valid
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.pages = 0
        self.lock = threading.RLock()
        self._serial = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/auth/o2/token", self._token, methods=["POST"]),
                Route("/tokens/2021-03-01/restrictedDataToken", self._rdt, methods=["POST"]),
                Route("/orders/v0/orders", self._orders),
                Route("/orders/v0/orders/{order_id}/orderItems", self._items),
                Route("/orders/v0/orders/{order_id}/address", self._address),
            ]
        )

    # --- the channel's data --------------------------------------------------------

    def stamp(self) -> datetime:
        return now() - timedelta(seconds=self.lag)

    def add_order(
        self,
        *,
        purchased: datetime,
        status: str = "Unshipped",
        marketplace: str = DE,
        items: int | None = None,
        updated: datetime | None = None,
    ) -> FakeOrder:
        with self.lock:
            serial = next(self._serial)
            order_id = f"302-{serial:07d}-{self.random.randrange(10**7):07d}"
            count = items if items is not None else self.random.randint(1, 3)
            lines = []
            for n in range(count):
                unit, tax = self.random.choice(PRICES)
                lines.append(FakeItem(f"{serial}{n:03d}", f"SKU-{self.random.randrange(100):03d}", self.random.randint(1, 3), unit, tax))
            city, postcode = self.random.choice(CITIES)
            name = self.random.choice(NAMES)
            address = {
                "Name": name, "AddressLine1": f"Hauptstr. {serial}", "City": city, "PostalCode": postcode,
                "CountryCode": "DE", "Phone": f"+49 30 {serial:05d}", "AddressType": "Residential",
            }
            order = FakeOrder(
                order_id, marketplace, purchased, updated or purchased, status, lines, address,
                f"{name.split()[0].lower()}.{serial}@marketplace.amazon.de",
            )
            if status in ("Shipped", "InvoiceUnconfirmed"):
                for line in lines:
                    line.shipped = line.qty
            self.orders[order_id] = order
            return order

    def seed(self, count: int, *, start: datetime, end: datetime, statuses: list[str] | None = None) -> list[FakeOrder]:
        """`count` orders purchased between start and end, in a mix of statuses."""
        statuses = statuses or ["Unshipped", "Unshipped", "Shipped", "PartiallyShipped", "InvoiceUnconfirmed", "Canceled"]
        span = (end - start).total_seconds()
        made = []
        for n in range(count):
            purchased = (start + timedelta(seconds=span * n / max(1, count))).replace(microsecond=0)
            status = statuses[n % len(statuses)]
            order = self.add_order(purchased=purchased, status=status, updated=purchased + timedelta(minutes=5))
            if status == "PartiallyShipped":
                if len(order.items) == 1:
                    order.items.append(FakeItem(order.items[0].item_id[:-3] + "999", "SKU-X", 1, "11.90", "1.90"))
                order.items[0].shipped = order.items[0].qty
            if status == "Canceled" and n % 2:
                order.items[0].cancel_reason = "Found cheaper somewhere else."
            made.append(order)
        return made

    def change(
        self,
        order_id: str,
        *,
        status: str | None = None,
        ship: bool = False,
        buyer_cancel: str | None = None,
        address: dict[str, str] | None = None,
        email: str | None = None,
        at: datetime | None = None,
    ) -> FakeOrder:
        with self.lock:
            order = self.orders[order_id]
            if status in ("Canceled", "Unfulfillable") and order.status in ADDRESS_STATUSES:
                order.keep_address = True  # the caller synced it before: its address was imported
            if status is not None:
                order.status = status
            if ship or status in ("Shipped", "InvoiceUnconfirmed"):
                for line in order.items:
                    line.shipped = line.qty
            if buyer_cancel is not None:
                order.items[0].cancel_reason = buyer_cancel
            if address is not None:
                order.address = {**order.address, **address}
            if email is not None:
                order.email = email
            order.updated = at or self.stamp()
            return order

    # --- what Channelport must end with ----------------------------------------------

    def truth(self, account: str, *, restricted: bool = True) -> list[dict[str, Any]]:
        """The export of every order Channelport imports (not Pending), sorted by id;
        `restricted`: whether Channelport got a Restricted Data Token (complete addresses)."""
        with self.lock:
            orders = [o for o in self.orders.values() if o.status not in PENDING]
            return [self._export(account, order, restricted) for order in sorted(orders, key=lambda o: o.order_id)]

    def _export(self, account: str, order: FakeOrder, restricted: bool) -> dict[str, Any]:
        canceled = order.status in ("Canceled", "Unfulfillable")
        shipped_all = order.status in ("Shipped", "InvoiceUnconfirmed")
        asked = any(item.cancel_reason for item in order.items)
        accepted = asked and order.status == "Canceled"
        denied = asked and shipped_all
        status = {
            "Unshipped": "ACCEPTED", "PartiallyShipped": "PARTIALLY_SHIPPED", "Shipped": "SHIPPED",
            "InvoiceUnconfirmed": "SHIPPED", "Canceled": "CANCELED_BY_SELLER", "Unfulfillable": "CANCELED_BY_SELLER",
        }[order.status]
        payment = "PENDING" if canceled else "PAID"

        def item_status(item: FakeItem | None) -> str:
            if canceled:
                return "CANCELED_BY_SELLER"
            if shipped_all:
                return "SHIPPED"
            if order.status == "PartiallyShipped":
                return "SHIPPED" if item is None or item.shipped >= item.qty else "UNSHIPPED"
            return "UNSHIPPED"

        lines = []
        for item in order.items:
            net = Decimal(item.unit) - Decimal(item.unit_tax)
            lines.append({
                "orderItemId": item.item_id, "type": "ITEM", "sku": item.sku, "quantity": str(item.qty),
                "cancelledQuantity": str(item.qty) if accepted else "0",
                "grossPrice": item.unit, "total": item.amount(item.unit),
                "taxPercent": _percent(Decimal(item.unit_tax), net),
                "itemStatus": item_status(item), "itemPaymentStatus": payment,
            })
        if order.shipping:
            gross, tax = (Decimal(v) for v in order.shipping)
            lines.append({
                "orderItemId": "shipping", "type": "SHIPPING", "sku": None, "quantity": "1",
                "cancelledQuantity": "1" if accepted else "0", "grossPrice": order.shipping[0],
                "total": order.shipping[0], "taxPercent": _percent(tax, gross - tax),
                "itemStatus": item_status(None), "itemPaymentStatus": payment,
            })
        requests = []
        if accepted:
            requests.append({"orderCancellationRequestId": f"{order.order_id}:buyer-cancel", "state": "ACCEPTED",
                             "cancelReason": "BUYER_CANCELLED", "reason": None})
        if denied:
            said = next(item.cancel_reason for item in order.items if item.cancel_reason)
            requests.append({"orderCancellationRequestId": f"{order.order_id}:buyer-cancel", "state": "DENIED",
                             "cancelReason": None, "reason": f"the order was shipped; the buyer's reason: {said}"})
        first, _, last = order.address["Name"].rpartition(" ")
        address = None
        if not canceled or order.keep_address:
            address = {
                "firstName": first or None, "lastName": last, "street": order.address["AddressLine1"],
                "houseNumber": None, "postcode": order.address["PostalCode"], "city": order.address["City"],
                "country": order.address["CountryCode"], "phone": order.address.get("Phone"), "companyName": None,
            }
            if not restricted:
                address.update(firstName=None, lastName=None, street=None, phone=None)
        return {
            "account": account, "orderId": order.order_id, "orderStatus": status, "currency": "EUR",
            "purchasedAt": ms(order.purchased), "paymentMethod": "Standard",
            "buyer": {"email": order.email, "vatId": None}, "billingAddress": None, "shippingAddress": address,
            "orderItem": lines, "cancellationRequests": requests,
        }

    # --- HTTP ------------------------------------------------------------------------

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status,
                            headers={"x-amzn-RateLimit-Limit": self.rate, **(headers or {})})

    def _ok(self, payload: dict[str, Any]) -> Response:
        return JSONResponse({"payload": payload}, headers={"x-amzn-RateLimit-Limit": self.rate,
                                                           "x-amzn-RequestId": f"req-{len(self.requests)}"})

    def _gate(self, request: Request) -> Response | None:
        """Scripted faults first, then the access token."""
        self.requests.append((request.url.path, dict(request.query_params)))
        if self.faults.answers:
            status, headers = self.faults.answers.popleft()
            if status == 429:
                return self._error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", headers)
            return JSONResponse({"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]},
                                status_code=status, headers=headers)
        token = request.headers.get("x-amz-access-token")
        if token is None or token not in self.tokens:
            return self._error(403, "Unauthorized", "Access to requested resource is denied.")
        if not self.tokens[token]:
            return JSONResponse({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                             "details": "The access token you provided has expired."}]}, status_code=403)
        return None

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = False

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        self.requests.append((request.url.path, {}))
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token \
                or self.faults.refuse_refresh_token:
            return JSONResponse({"error": "invalid_grant",
                                 "error_description": "The request has an invalid grant parameter : refresh_token"}, 400)
        with self.lock:
            token = f"Atza|access-{len(self.tokens) + 1}"
            self.tokens[token] = True
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": 3600,
                             "refresh_token": self.refresh_token})

    async def _rdt(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        body = await request.json()
        wanted = {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]}
        if body != {"restrictedResources": [wanted]}:
            return self._error(400, "InvalidInput", f"unexpected restricted resources {body}")
        if self.faults.refuse_restricted or request.headers["x-amz-access-token"].startswith("Atz.sprdt"):
            return self._error(403, "Unauthorized", "Access to requested resource is denied.")
        with self.lock:
            token = f"Atz.sprdt|{len(self.tokens) + 1}"
            self.tokens[token] = True
        return JSONResponse({"restrictedDataToken": token, "expiresIn": 3600})

    async def _orders(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        restricted = request.headers["x-amz-access-token"].startswith("Atz.sprdt")
        q = request.query_params
        allowed = {"MarketplaceIds", "LastUpdatedAfter", "LastUpdatedBefore", "MaxResultsPerPage", "NextToken"}
        if set(q) - allowed:
            return self._error(400, "InvalidInput", f"unsupported parameters {sorted(set(q) - allowed)}")
        if not q.get("MarketplaceIds") or not q.get("LastUpdatedAfter"):
            return self._error(400, "InvalidInput", "MarketplaceIds and LastUpdatedAfter are required")
        after = parse(q["LastUpdatedAfter"])
        before = parse(q["LastUpdatedBefore"]) if q.get("LastUpdatedBefore") else now() - timedelta(minutes=2)
        if before > now() - timedelta(minutes=2):
            return self._error(400, "InvalidInput", "LastUpdatedBefore must be at least two minutes before now")
        if before < after:
            return self._error(400, "InvalidInput", "LastUpdatedBefore must not be before LastUpdatedAfter")
        size = int(q.get("MaxResultsPerPage", "100"))
        if not 1 <= size <= 100:
            return self._error(400, "InvalidInput", "MaxResultsPerPage must be 1 to 100")
        with self.lock:
            self.pages += 1
            if self.faults.on_page is not None:
                self.faults.on_page(self.pages)
            markets = set(q["MarketplaceIds"].split(","))
            rows = sorted(
                (o for o in self.orders.values() if o.marketplace in markets and after <= o.updated <= before),
                key=lambda o: (o.updated, o.order_id),
            )
            if q.get("NextToken") and not self.faults.repeat_page:
                try:
                    mark = json.loads(base64.urlsafe_b64decode(q["NextToken"]))
                except ValueError:
                    return self._error(400, "InvalidInput", "Invalid NextToken")
                rows = [o for o in rows if (iso(o.updated), o.order_id) > (mark["u"], mark["id"])]
            page, rest = rows[:size], rows[size:]
            payload: dict[str, Any] = {"Orders": [self._order_json(o, restricted) for o in page],
                                       "LastUpdatedBefore": iso(before)}
            if rest:
                last = page[-1]
                payload["NextToken"] = base64.urlsafe_b64encode(
                    json.dumps({"u": iso(last.updated), "id": last.order_id}).encode()).decode()
            if self.faults.repeat_page:
                payload["NextToken"] = "same-page-forever"
        return self._ok(payload)

    def _order_json(self, order: FakeOrder, restricted: bool) -> dict[str, Any]:
        shipped = sum(i.shipped for i in order.items)
        data: dict[str, Any] = {
            "AmazonOrderId": order.order_id, "PurchaseDate": iso(order.purchased), "LastUpdateDate": iso(order.updated),
            "OrderStatus": order.status, "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.de",
            "NumberOfItemsShipped": shipped, "NumberOfItemsUnshipped": sum(i.qty for i in order.items) - shipped,
            "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"], "MarketplaceId": order.marketplace,
            "ShipmentServiceLevelCategory": "Standard", "OrderType": "StandardOrder", "IsBusinessOrder": False,
            "IsPrime": False, "IsPremiumOrder": False, "IsGlobalExpressEnabled": False, "IsReplacementOrder": False,
            "IsSoldByAB": False, "IsISPU": False, "IsAccessPointOrder": False,
            "BuyerInfo": {"BuyerEmail": order.email},
        }
        if order.status not in PENDING:
            data["OrderTotal"] = {"CurrencyCode": "EUR", "Amount": order.total()}
        if order.status in ADDRESS_STATUSES and self.address_in_listing:
            data["ShippingAddress"] = self._address_json(order, restricted)
        return data

    @staticmethod
    def _address_json(order: FakeOrder, restricted: bool) -> dict[str, str]:
        """Without a Restricted Data Token, Amazon leaves out names, street lines and phone."""
        if restricted:
            return dict(order.address)
        return {key: value for key, value in order.address.items()
                if key not in ("Name", "AddressLine1", "AddressLine2", "AddressLine3", "Phone", "AddressType")}

    async def _items(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        with self.lock:
            order = self.orders.get(request.path_params["order_id"])
            if order is None:
                return self._error(404, "NotFound", "order not found")
            start = int(request.query_params.get("NextToken", "0") or 0)
            chunk = order.items[start : start + self.items_per_page]
            items = [self._item_json(order, n + start, item) for n, item in enumerate(chunk)]
            payload: dict[str, Any] = {"AmazonOrderId": order.order_id, "OrderItems": items}
            if start + self.items_per_page < len(order.items):
                payload["NextToken"] = str(start + self.items_per_page)
        return self._ok(payload)

    def _item_json(self, order: FakeOrder, position: int, item: FakeItem) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ASIN": f"B0{item.sku[-3:]}XYZ", "OrderItemId": item.item_id, "SellerSKU": item.sku,
            "Title": f"Article {item.sku}", "QuantityOrdered": item.qty, "QuantityShipped": item.shipped,
            "ProductInfo": {"NumberOfItems": "1"}, "IsGift": "false", "ConditionId": "New",
        }
        if order.status not in PENDING:
            data.update({
                "ItemPrice": {"CurrencyCode": "EUR", "Amount": item.amount(item.unit)},
                "ItemTax": {"CurrencyCode": "EUR", "Amount": item.amount(item.unit_tax)},
                "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "0.00"},
                "PromotionDiscountTax": {"CurrencyCode": "EUR", "Amount": "0.00"},
            })
            if position == 0 and order.shipping:
                data["ShippingPrice"] = {"CurrencyCode": "EUR", "Amount": order.shipping[0]}
                data["ShippingTax"] = {"CurrencyCode": "EUR", "Amount": order.shipping[1]}
        if item.cancel_reason:
            data["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": item.cancel_reason}
        return data

    async def _address(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        with self.lock:
            order = self.orders.get(request.path_params["order_id"])
            if order is None:
                return self._error(404, "NotFound", "order not found")
            payload: dict[str, Any] = {"AmazonOrderId": order.order_id}
            if order.status in ADDRESS_STATUSES:
                payload["ShippingAddress"] = self._address_json(order, restricted=False)
        return self._ok(payload)

    def count(self, path_part: str) -> int:
        return sum(1 for path, _q in self.requests if path_part in path)


def _percent(tax: Decimal, net: Decimal) -> str:
    value = (tax * 100 / net).quantize(Decimal("0.1"))
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value.normalize())
