"""A small, independent model of one channel: it makes a TRUE history and knows its export.

The model changes plain values in `createdAt` order, the way the channel itself does,
and writes the export by hand. It never calls `rules.apply` or `export.order_export`:
the convergence test checks those against this model.

It keeps to what docs/order-semantics.md says the channel guarantees (distinct instants
per order; nothing touches a fully cancelled item; nothing but answers to requests made
before changes an order once it is CANCELED_BY_*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from channelport.domain.events import (
    Address,
    AddressUpdate,
    Buyer,
    CancellationAccepted,
    CancellationDenied,
    CancelledLine,
    DomainEvent,
    ItemStatusChange,
    NewOrder,
    OrderLine,
    OrderSnapshot,
    StatusUpdate,
)
from channelport.domain.instants import format_instant

from .builders import ANNA, BASE, BERND, SELLER

ACCOUNT = "shop-main"

ADDRESSES = (
    ANNA,
    BERND,
    Address(last_name="Çelik", street="Weg", house_number="1a", city="Köln", country="DE", phone="+49 221 1"),
)
BUYERS = (Buyer(email="anna@example.org"), Buyer(email="b@example.org", vat_id="DE123456789"), Buyer())
OPEN_STATUSES = ("CREATED", "ACCEPTED", "SHIPPED", "PARTIALLY_SHIPPED")
FINAL_STATUSES = ("CANCELED_BY_BUYER", "CANCELED_BY_SELLER")
ITEM_STATUSES = ("UNSHIPPED", "SHIPPED", "RETURNED", "REFUNDED", "CANCELED_BY_BUYER")
PAYMENTS = ("PENDING", "PAID")


@dataclass
class ModelLine:
    line: OrderLine
    item_status: str
    payment: str
    cancelled: Decimal = Decimal(0)

    @property
    def full(self) -> bool:
        return self.cancelled == self.line.quantity


@dataclass
class ModelOrder:
    order_id: str
    purchased_at: datetime
    status: str
    lines: list[ModelLine]
    buyer: Buyer | None
    billing: Address | None
    shipping: Address | None
    last_at: datetime
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    closed_by_status: bool = False
    serial: int = 0

    @property
    def fully_cancelled(self) -> bool:
        return all(line.full for line in self.lines)

    def next_event_id(self) -> str:
        self.serial += 1
        return f"{self.order_id}-e{self.serial}"


@dataclass
class History:
    events: list[DomainEvent]  # the true changes, in createdAt order
    truth: dict[str, dict[str, Any]]  # order id -> its export


def true_history(data: st.DataObject, *, max_orders: int = 4, max_steps: int = 24) -> History:
    draw = data.draw
    n_orders = draw(st.integers(1, max_orders), label="orders")
    steps = draw(st.integers(0, max_steps), label="steps")
    orders: list[ModelOrder] = []
    events: list[DomainEvent] = []
    clock = BASE
    while len(orders) < n_orders or steps > 0:
        clock += timedelta(milliseconds=draw(st.integers(0, 2)))
        live = [order for order in orders if not order.closed_by_status]
        if len(orders) < n_orders and (not live or draw(st.integers(0, 3)) == 0):
            order = _new_order(draw, f"O-{len(orders) + 1}", clock)
            orders.append(order)
            events.append(_new_event(order, clock))
            continue
        steps -= 1
        if not live:
            continue
        order = live[draw(st.integers(0, len(live) - 1))]  # an index: the model objects mutate
        if clock <= order.last_at:  # distinct changes of one order have distinct instants
            clock = order.last_at + timedelta(milliseconds=1)
        order.last_at = clock
        events.append(_change(draw, order, clock))
    return History(events=events, truth={order.order_id: export_of(order) for order in orders})


# --- generating the changes -----------------------------------------------------------------


def _new_order(draw, order_id: str, at: datetime) -> ModelOrder:
    n_items = draw(st.integers(1, 3))
    lines = [
        OrderLine(
            order_item_id=str(index + 1),
            type="ITEM",
            quantity=Decimal(draw(st.sampled_from(["1", "2", "3"]))),
            gross_price=Decimal("19.99"),
            total=Decimal("39.98"),
            tax_percent=Decimal("19"),
            item_status="UNSHIPPED",
            item_payment_status=draw(st.sampled_from(PAYMENTS)),
            sku=f"SKU-{index + 1}",
            title="T-Shirt",
        )
        for index in range(n_items)
    ]
    if draw(st.booleans()):
        lines.append(
            OrderLine(
                order_item_id="S",
                type="SHIPPING",
                quantity=Decimal("1"),
                gross_price=Decimal("4.90"),
                total=Decimal("4.90"),
                tax_percent=Decimal("19"),
                item_status="UNSHIPPED",
                item_payment_status="PAID",
            )
        )
    return ModelOrder(
        order_id=order_id,
        purchased_at=at,
        status=draw(st.sampled_from(["UNACKED", "CREATED"])),
        lines=[ModelLine(line, line.item_status, line.item_payment_status) for line in lines],
        buyer=draw(st.none() | st.sampled_from(BUYERS)),
        billing=draw(st.none() | st.sampled_from(ADDRESSES)),
        shipping=draw(st.none() | st.sampled_from(ADDRESSES)),
        last_at=at,
    )


def _new_event(order: ModelOrder, at: datetime) -> NewOrder:
    snapshot = OrderSnapshot(
        seller_id=SELLER,
        order_id=order.order_id,
        order_status=order.status,
        purchased_at=at,
        last_changed_at=at,
        currency="EUR",
        lines=tuple(line.line for line in order.lines),
        payment_method="invoice",
        buyer=order.buyer,
        billing_address=order.billing,
        shipping_address=order.shipping,
    )
    return NewOrder(
        event_id=order.next_event_id(), created_at=at, seller_id=SELLER, order_id=order.order_id, order=snapshot
    )


def _change(draw, order: ModelOrder, at: datetime) -> DomainEvent:
    common = {"event_id": order.next_event_id(), "created_at": at, "seller_id": SELLER, "order_id": order.order_id}
    kinds = ["accepted", "denied"] if order.fully_cancelled else ["status", "status", "address", "accepted", "denied"]
    kind = draw(st.sampled_from(kinds))
    if kind == "status":
        return _status(draw, order, common)
    if kind == "address":
        return _address(draw, order, common)
    if kind == "accepted":
        return _accepted(draw, order, common)
    return _denied(draw, order, common)


def _status(draw, order: ModelOrder, common: dict[str, Any]) -> StatusUpdate:
    closing = draw(st.integers(0, 9)) == 0  # rarely: a closed order only takes answers, so histories stay long
    status = draw(st.sampled_from(FINAL_STATUSES if closing else OPEN_STATUSES))
    open_lines = [line for line in order.lines if not line.full]  # never touch a fully cancelled item
    changes = []
    for index in draw(st.lists(st.integers(0, len(open_lines) - 1), unique=True)) if open_lines else []:
        line = open_lines[index]
        item_status = draw(st.none() | st.sampled_from(ITEM_STATUSES))
        payment = draw(st.none() | st.sampled_from(PAYMENTS))
        changes.append(ItemStatusChange(line.line.order_item_id, item_status, payment))
        line.item_status = item_status or line.item_status
        line.payment = payment or line.payment
    order.status = status
    order.closed_by_status = status in FINAL_STATUSES
    return StatusUpdate(**common, order_status=status, items=tuple(changes))


def _address(draw, order: ModelOrder, common: dict[str, Any]) -> AddressUpdate:
    billing = draw(st.none() | st.sampled_from(ADDRESSES))
    shipping = draw(st.none() | st.sampled_from(ADDRESSES))
    buyer = draw(st.none() | st.sampled_from(BUYERS))
    order.billing = billing or order.billing
    order.shipping = shipping or order.shipping
    order.buyer = buyer or order.buyer
    return AddressUpdate(**common, billing_address=billing, shipping_address=shipping, buyer=buyer)


def _accepted(draw, order: ModelOrder, common: dict[str, Any]) -> DomainEvent:
    """The whole order, or named quantities that may exceed what is left (the channel caps them)."""
    whole = draw(st.booleans())
    named: list[tuple[ModelLine, Decimal]] = []
    if whole:
        for line in order.lines:
            line.cancelled = line.line.quantity
    else:
        for index in draw(st.lists(st.integers(0, len(order.lines) - 1), unique=True, min_size=1)):
            line, quantity = order.lines[index], Decimal(draw(st.sampled_from(["1", "2", "4"])))
            line.cancelled = min(line.cancelled + quantity, line.line.quantity)
            named.append((line, quantity))
    request_id = f"{order.order_id}-R{len(order.requests) + 1}"
    reason = draw(st.sampled_from(["OUT_OF_STOCK", "BUYER_CANCELLED", "OTHER"]))
    order.requests[request_id] = {"state": "ACCEPTED", "cancelReason": reason, "reason": None}
    lines = None if whole else tuple(CancelledLine(line.line.order_item_id, quantity) for line, quantity in named)
    return CancellationAccepted(**common, request_id=request_id, cancel_reason=reason, lines=lines)


def _denied(draw, order: ModelOrder, common: dict[str, Any]) -> CancellationDenied:
    request_id = f"{order.order_id}-R{len(order.requests) + 1}"
    reason = draw(st.none() | st.sampled_from(["already shipped", "zu spät"]))
    order.requests[request_id] = {"state": "DENIED", "cancelReason": None, "reason": reason}
    return CancellationDenied(**common, request_id=request_id, reason=reason)


# --- the truth, written by hand ---------------------------------------------------------------


def _address_json(address: Address | None) -> dict[str, str | None] | None:
    if address is None:
        return None
    return {
        "firstName": address.first_name,
        "lastName": address.last_name,
        "street": address.street,
        "houseNumber": address.house_number,
        "postcode": address.postcode,
        "city": address.city,
        "country": address.country,
        "phone": address.phone,
        "companyName": address.company_name,
    }


def export_of(order: ModelOrder) -> dict[str, Any]:
    return {
        "account": ACCOUNT,
        "orderId": order.order_id,
        "orderStatus": "CANCELED_BY_SELLER" if order.fully_cancelled else order.status,
        "currency": "EUR",
        "purchasedAt": format_instant(order.purchased_at),
        "paymentMethod": "invoice",
        "buyer": None if order.buyer is None else {"email": order.buyer.email, "vatId": order.buyer.vat_id},
        "billingAddress": _address_json(order.billing),
        "shippingAddress": _address_json(order.shipping),
        "orderItem": [
            {
                "orderItemId": line.line.order_item_id,
                "type": line.line.type,
                "sku": line.line.sku,
                "quantity": str(line.line.quantity),
                "cancelledQuantity": str(line.cancelled),
                "grossPrice": str(line.line.gross_price),
                "total": str(line.line.total),
                "taxPercent": str(line.line.tax_percent),
                "itemStatus": "CANCELED_BY_SELLER" if line.full else line.item_status,
                "itemPaymentStatus": line.payment,
            }
            for line in order.lines
        ],
        "cancellationRequests": [
            {"orderCancellationRequestId": request_id, **order.requests[request_id]}
            for request_id in sorted(order.requests)
        ],
    }
