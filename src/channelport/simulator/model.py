"""The channel's own records: orders as they truly are, and every event it ever created.

An order keeps what it was created with (the `Channel:Order.New` payload is rebuilt from
that, so a replayed order event carries the order as it was created) next to its
current state, which the simulator changes as it emits events. The ground truth in the
export format is rendered from the current state, by the channel's rules alone: it never
imports Channelport's domain, or comparing against it would prove nothing.

Events store compact tuples; `payload()` builds the protocol dictionary on delivery,
and `wire()` keeps the event's JSON text once it was first delivered: an event never
changes after it was created, so a replay serves the same bytes again, as a real channel
serves the documents it stored rather than building each one anew.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from channelport.domain.money import decimal_text
from channelport.simulator.generator import Address, Buyer, Line
from channelport.simulator.wire import (
    ADDRESS,
    ADDRESS_FIELDS,
    CANCEL_ACCEPTED,
    CANCEL_DENIED,
    NEW,
    STATUS,
    ms_to_text,
)

TERMINAL_STATUSES = frozenset({"CANCELED_BY_SELLER", "CANCELED_BY_BUYER"})
ZERO = Decimal(0)


class CancelRequest:
    """A seller's cancellation request, from the seller portal or from the API."""

    __slots__ = (
        "request_id",
        "order",
        "items",
        "cancel_reason",
        "source",
        "outcome",
        "opened_ms",
        "answer_ms",
        "state",
        "reason",
    )

    def __init__(
        self,
        request_id: str,
        order: SimOrder,
        items: tuple[tuple[str, Decimal], ...] | None,
        cancel_reason: str,
        source: str,  # "api" or "portal"
        outcome: str | None,  # portal requests: "whole", "partial" or "deny"; API ones decide when answered
        opened_ms: int,
        answer_ms: int,
    ) -> None:
        self.request_id = request_id
        self.order = order
        self.items = items
        self.cancel_reason = cancel_reason
        self.source = source
        self.outcome = outcome
        self.opened_ms = opened_ms
        self.answer_ms = answer_ms
        self.state = "REQUESTED"  # then ACCEPTED or DENIED
        self.reason: str | None = None  # a denial's reason


class SimOrder:
    """One order of one seller: as created, and as it is now."""

    __slots__ = (
        "no",
        "order_id",
        "purchased_ms",
        "currency",
        "payment_method",
        "buyer0",
        "billing0",
        "shipping0",
        "lines",
        "buyer",
        "billing",
        "shipping",
        "status",
        "item_status",
        "pay_status",
        "cancelled",
        "answered",
        "open_requests",
        "frozen_until",
        "last_ms",
        "events",
        "new_event",
        "plan",
        "steps",
    )

    def __init__(
        self,
        no: int,
        order_id: str,
        purchased_ms: int,
        currency: str,
        payment_method: str,
        buyer: Buyer,
        billing: Address,
        shipping: Address,
        lines: tuple[Line, ...],
        plan: str,
    ) -> None:
        self.no = no
        self.order_id = order_id
        self.purchased_ms = purchased_ms
        self.currency = currency
        self.payment_method = payment_method
        self.buyer0 = self.buyer = buyer
        self.billing0 = self.billing = billing
        self.shipping0 = self.shipping = shipping
        self.lines = lines
        self.status = "CREATED"
        self.item_status = [line.item_status for line in lines]
        self.pay_status = [line.payment_status for line in lines]
        self.cancelled: list[Decimal] | None = None  # None: nothing cancelled yet
        self.answered: dict[str, CancelRequest] | None = None
        self.open_requests = 0
        self.frozen_until = 0  # status changes wait until the open requests are answered
        self.last_ms = purchased_ms  # createdAt of the latest change (distinct per order)
        self.events: list[StoredEvent] = []
        self.new_event: StoredEvent | None = None
        self.plan = plan  # the lifecycle chosen at creation, for statistics and tests
        self.steps: tuple[tuple[int, int, Any], ...] = ()  # status steps still to come (see lifecycle)

    # --- cancellation arithmetic -------------------------------------------------
    def cancelled_of(self, index: int) -> Decimal:
        return ZERO if self.cancelled is None else self.cancelled[index]

    def remaining(self, index: int) -> Decimal:
        return Decimal(self.lines[index].quantity) - self.cancelled_of(index)

    def fully_cancelled(self, index: int) -> bool:
        return self.cancelled is not None and self.cancelled[index] == Decimal(self.lines[index].quantity)

    def add_cancelled(self, index: int, quantity: Decimal) -> None:
        """A partial cancellation: the plain sum (so "0.5" + "1.5" is written "2.0")."""
        if self.cancelled is None:
            self.cancelled = [ZERO] * len(self.lines)
        self.cancelled[index] += quantity

    def cancel_all(self) -> None:
        """A whole-order cancellation: every item's cancelled quantity becomes its quantity,
        spelled as the quantity ("2", not a sum such as "2.0"), unless it already was equal."""
        if self.cancelled is None:
            self.cancelled = [ZERO] * len(self.lines)
        for index, line in enumerate(self.lines):
            quantity = Decimal(line.quantity)
            if self.cancelled[index] != quantity:
                self.cancelled[index] = quantity

    @property
    def all_cancelled(self) -> bool:
        return self.cancelled is not None and all(self.fully_cancelled(i) for i in range(len(self.lines)))

    @property
    def terminal(self) -> bool:
        """Cancelled by the buyer or entirely by the seller: nothing changes it any more."""
        return self.status in TERMINAL_STATUSES or self.all_cancelled

    @property
    def shown_status(self) -> str:
        return "CANCELED_BY_SELLER" if self.all_cancelled else self.status

    def index_of(self, item_id: str) -> int | None:
        for index, line in enumerate(self.lines):
            if line.item_id == item_id:
                return index
        return None


class StoredEvent:
    """An event the channel created: kept for replays whether acknowledged or not.

    `data` is a compact tuple per type (see `payload`), or the raw payload dictionary of
    an injected (unknown or malformed) event. `live` is the queue entry that currently
    delivers it, if any, so a replay does not queue the same event twice.
    """

    __slots__ = ("seq", "type", "created_ms", "order", "data", "live", "injected", "_wire")

    def __init__(
        self, seq: int, type_: str, created_ms: int, order: SimOrder | None, data: Any, injected: bool = False
    ) -> None:
        self.seq = seq
        self.type = type_
        self.created_ms = created_ms
        self.order = order
        self.data = data
        self.live: Any = None
        self.injected = injected
        self._wire: str | None = None

    def wire(self, seller_id: str) -> str:
        """The page entry after its queue id: `,"type":...,"createdAt":...,"event":{...}}`.

        Kept after the first call (a whole replayed week is served again from these), but
        not for an injected event, whose payload a test may still change.
        """
        text = self._wire
        if text is None:
            text = "".join(
                (
                    ',"type":',
                    json.dumps(self.type, ensure_ascii=False),
                    ',"createdAt":"',
                    ms_to_text(self.created_ms),
                    '","event":',
                    json.dumps(self.payload(seller_id), ensure_ascii=False, separators=(",", ":")),
                    "}",
                )
            )
            if not self.injected:
                self._wire = text
        return text

    def payload(self, seller_id: str) -> dict[str, Any]:
        """The `event` object of the wire format."""
        if self.injected:
            return self.data  # type: ignore[no-any-return]
        order = self.order
        assert order is not None
        if self.type == NEW:
            return new_payload(seller_id, order)
        head: dict[str, Any] = {"sellerId": seller_id, "orderId": order.order_id}
        data = self.data
        if self.type == STATUS:
            status, items = data
            head["orderStatus"] = status
            if items is not None:
                head["orderItems"] = [_status_item(item) for item in items]
        elif self.type == ADDRESS:
            billing, shipping, buyer = data
            if billing is not None:
                head["billingAddress"] = address_wire(billing, full=True)
            if shipping is not None:
                head["shippingAddress"] = address_wire(shipping, full=False)
            if buyer is not None:
                head["buyer"] = buyer_wire(buyer)
        elif self.type == CANCEL_ACCEPTED:
            request_id, items, reason = data
            head["orderCancellationRequestId"] = request_id
            if items is not None:
                head["orderItem"] = [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in items]
            head["cancelReason"] = reason
        elif self.type == CANCEL_DENIED:
            request_id, reason = data
            head["orderCancellationRequestId"] = request_id
            head["reason"] = reason
        return head


def _status_item(item: tuple[str, str | None, str | None]) -> dict[str, str]:
    item_id, item_status, payment_status = item
    out = {"orderItemId": item_id}
    if item_status is not None:
        out["itemStatus"] = item_status
    if payment_status is not None:
        out["paymentStatus"] = payment_status
    return out


def address_wire(address: Address, *, full: bool) -> dict[str, str | None]:
    """Billing addresses list every field (absent ones null); shipping ones omit absent fields.

    Both spellings appear in the protocol page's example, so clients must read both.
    """
    if full:
        return dict(zip(ADDRESS_FIELDS, address, strict=True))
    return {name: value for name, value in zip(ADDRESS_FIELDS, address, strict=True) if value is not None}


def buyer_wire(buyer: Buyer) -> dict[str, str | None]:
    return {"email": buyer[0], "vatId": buyer[1]}


def new_payload(seller_id: str, order: SimOrder) -> dict[str, Any]:
    """The order as it was created."""
    created = ms_to_text(order.purchased_ms)
    items = []
    for line in order.lines:
        item: dict[str, Any] = {"orderItemId": line.item_id, "type": line.type}
        if line.sku is not None:
            item["sku"] = line.sku
        if line.title is not None:
            item["title"] = line.title
        item["quantity"] = line.quantity
        item["grossPrice"] = line.gross_price
        item["total"] = line.total
        item["taxPercent"] = line.tax_percent
        item["itemStatus"] = line.item_status
        item["itemPaymentStatus"] = line.payment_status
        items.append(item)
    return {
        "sellerId": seller_id,
        "orderId": order.order_id,
        "orderStatus": "CREATED",
        "purchasedAt": created,
        "lastChangedAt": created,
        "currency": order.currency,
        "paymentMethod": order.payment_method,
        "buyer": buyer_wire(order.buyer0),
        "billingAddress": address_wire(order.billing0, full=True),
        "shippingAddress": address_wire(order.shipping0, full=False),
        "orderItem": items,
    }


# --- ground truth (DESIGN.md "Export format") --------------------------------------
def _address_truth(address: Address | None) -> dict[str, str | None] | None:
    return None if address is None else dict(zip(ADDRESS_FIELDS, address, strict=True))


@lru_cache(maxsize=65536)
def _dec(text: str) -> str:
    """A decimal as the channel sent it, spelled by the shared rule (cached: few distinct values)."""
    return decimal_text(Decimal(text))


def order_truth(order: SimOrder, account: str) -> dict[str, Any]:
    """The true current state of one order, in the export format."""
    items = []
    for index, line in enumerate(order.lines):
        cancelled = order.cancelled_of(index)
        shown = "CANCELED_BY_SELLER" if order.fully_cancelled(index) else order.item_status[index]
        items.append(
            {
                "orderItemId": line.item_id,
                "type": line.type,
                "sku": line.sku,
                "quantity": _dec(line.quantity),
                "cancelledQuantity": decimal_text(cancelled),
                "grossPrice": _dec(line.gross_price),
                "total": _dec(line.total),
                "taxPercent": _dec(line.tax_percent),
                "itemStatus": shown,
                "itemPaymentStatus": order.pay_status[index],
            }
        )
    requests = []
    for request_id in sorted(order.answered or ()):
        request = (order.answered or {})[request_id]
        accepted = request.state == "ACCEPTED"
        requests.append(
            {
                "orderCancellationRequestId": request_id,
                "state": request.state,
                "cancelReason": request.cancel_reason if accepted else None,
                "reason": None if accepted else request.reason,
            }
        )
    return {
        "account": account,
        "orderId": order.order_id,
        "orderStatus": order.shown_status,
        "currency": order.currency,
        "purchasedAt": ms_to_text(order.purchased_ms),
        "paymentMethod": order.payment_method,
        "buyer": None if order.buyer is None else buyer_wire(order.buyer),
        "billingAddress": _address_truth(order.billing),
        "shippingAddress": _address_truth(order.shipping),
        "orderItem": items,
        "cancellationRequests": requests,
    }
