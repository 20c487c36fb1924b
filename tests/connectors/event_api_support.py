"""Shared pieces of the event-api tests: wire payloads, a fake clock, a scripted channel."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from channelport.connectors.base import AccountConfig
from channelport.connectors.event_api import EventApiConnector, EventApiSettings

NEW = "Channel:Order.New"
STATUS = "Channel:Order.StatusUpdate"
ADDRESS = "Channel:Order.AddressUpdate"
ACCEPTED = "Channel:Order.CancellationAccepted"
DENIED = "Channel:Order.CancellationDenied"

# The protocol page's example `Channel:Order.New` payload, verbatim.
EXAMPLE_ORDER: dict[str, Any] = json.loads(
    """
{
  "sellerId": "S-1001",
  "orderId": "KL-2026-000123",
  "orderStatus": "CREATED",
  "purchasedAt": "2026-11-20T08:15:02.120Z",
  "lastChangedAt": "2026-11-20T08:15:02.120Z",
  "currency": "EUR",
  "paymentMethod": "paypal",
  "buyer": {"email": "anna@example.org", "vatId": null},
  "billingAddress":  {"firstName": "Anna", "lastName": "Schmidt", "street": "Hauptstr.", "houseNumber": "5",
                      "postcode": "10115", "city": "Berlin", "country": "DE", "phone": null, "companyName": null},
  "shippingAddress": {"firstName": "Anna", "lastName": "Schmidt", "street": "Hauptstr.", "houseNumber": "5",
                      "postcode": "10115", "city": "Berlin", "country": "DE"},
  "orderItem": [
    {"orderItemId": "1", "type": "ITEM", "sku": "TSHIRT-RED-M", "title": "T-Shirt rot M", "quantity": "2",
     "grossPrice": "19.99", "total": "39.98", "taxPercent": "19", "itemStatus": "UNSHIPPED", "itemPaymentStatus": "PAID"},
    {"orderItemId": "2", "type": "SHIPPING", "quantity": "1", "grossPrice": "4.90", "total": "4.90", "taxPercent": "19",
     "itemStatus": "UNSHIPPED", "itemPaymentStatus": "PAID"}
  ]
}
"""
)

STATUS_PAYLOAD: dict[str, Any] = {
    "sellerId": "S-1001",
    "orderId": "KL-2026-000123",
    "orderStatus": "PARTIALLY_SHIPPED",
    "orderItems": [{"orderItemId": "1", "itemStatus": "SHIPPED"}, {"orderItemId": "2", "paymentStatus": "PAID"}],
}
ADDRESS_PAYLOAD: dict[str, Any] = {
    "sellerId": "S-1001",
    "orderId": "KL-2026-000123",
    "shippingAddress": {"lastName": "Meier", "street": "Packstation", "houseNumber": "123", "city": "Hamburg",
                        "postcode": "20095", "country": "DE"},
}
ACCEPTED_PAYLOAD: dict[str, Any] = {
    "sellerId": "S-1001",
    "orderId": "KL-2026-000123",
    "orderCancellationRequestId": "6f1c2b9e-2c1a-4a55-9a39-3f1f5f0b9a11",
    "orderItem": [{"orderItemId": "1", "quantity": "1"}],
    "cancelReason": "OUT_OF_STOCK",
}
DENIED_PAYLOAD: dict[str, Any] = {
    "sellerId": "S-1001",
    "orderId": "KL-2026-000123",
    "orderCancellationRequestId": "0d0e3a52-8d7e-4f0e-b0f4-7c0f8e0a3b22",
    "reason": "Die Ware ist bereits versandt.",
}
PAYLOADS: dict[str, dict[str, Any]] = {
    NEW: EXAMPLE_ORDER,
    STATUS: STATUS_PAYLOAD,
    ADDRESS: ADDRESS_PAYLOAD,
    ACCEPTED: ACCEPTED_PAYLOAD,
    DENIED: DENIED_PAYLOAD,
}


def entry(
    wire_type: str = NEW,
    payload: Any = None,
    *,
    id: Any = "ev-1",  # noqa: A002 - the wire's name
    created_at: Any = "2026-11-20T08:15:02.120Z",
) -> dict[str, Any]:
    """One `eventList` entry; `payload` defaults to a deep copy of the type's sample."""
    item: dict[str, Any] = {
        "id": id,
        "type": wire_type,
        "createdAt": created_at,
        "event": copy.deepcopy(PAYLOADS[wire_type]) if payload is None else payload,
    }
    return item


def page(*entries: Any) -> bytes:
    return json.dumps({"eventList": list(entries)}).encode()


class FakeClock:
    """`monotonic` and `sleep` for the client: sleeping moves time, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


class ScriptedChannel:
    """An httpx transport that answers from a script and records every request.

    Each script step is an `httpx.Response`, an exception to raise, or a callable taking
    the request. The last step repeats when the script runs out.
    """

    def __init__(self, steps: Iterable[Any], clock: FakeClock | None = None, request_cost: float = 0.0) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.clock = clock
        self.request_cost = request_cost  # fake seconds each request takes
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock is not None:
            self.clock.now += self.request_cost
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, BaseException):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)  # type: ignore[no-any-return]
        return step  # type: ignore[no-any-return]

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) if request.content else None for request in self.requests]


CONFIG = AccountConfig(url="https://channel.example/api", seller_id="S-1001", token="secret-token")


def connector(
    channel: ScriptedChannel,
    clock: FakeClock | None = None,
    **settings: Any,
) -> EventApiConnector:
    clock = clock or channel.clock or FakeClock()
    return EventApiConnector(
        CONFIG,
        EventApiSettings(**settings),
        transport=channel.transport,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        uniform=lambda low, high: high,  # deterministic: the top of the jitter range
    )


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, code: str = "ERROR", message: str = "something", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"errorList": [{"code": code, "message": message}]}, headers=headers)


def raw(status: int, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers)


EMPTY_PAGE = ok({"eventList": []})
ACKED = ok({"acknowledged": 1})
