"""Small builders for domain events in tests: sensible defaults, override what matters."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from channelport.domain.events import (
    Address,
    AddressUpdate,
    Buyer,
    CancellationAccepted,
    CancellationDenied,
    CancelledLine,
    ItemStatusChange,
    NewOrder,
    OrderLine,
    OrderSnapshot,
    StatusUpdate,
)
from channelport.domain.instants import UTC

SELLER = "S-1001"
BASE = datetime(2026, 11, 20, 8, 15, 2, 120000, tzinfo=UTC)
_ids = itertools.count(1)


def at(seconds: float) -> datetime:
    """An instant `seconds` after a fixed base: tests speak in small numbers."""
    return BASE + timedelta(seconds=seconds)


def next_id() -> str:
    return f"ev-{next(_ids)}"


def line(
    item_id: str = "1",
    *,
    type: str = "ITEM",
    quantity: str = "2",
    gross_price: str = "19.99",
    total: str = "39.98",
    tax_percent: str = "19",
    item_status: str = "UNSHIPPED",
    payment: str = "PAID",
    sku: str | None = "SKU-1",
) -> OrderLine:
    return OrderLine(
        order_item_id=item_id,
        type=type,
        quantity=Decimal(quantity),
        gross_price=Decimal(gross_price),
        total=Decimal(total),
        tax_percent=Decimal(tax_percent),
        item_status=item_status,
        item_payment_status=payment,
        sku=sku,
        title=None if sku is None else f"Title {sku}",
    )


ANNA = Address(
    first_name="Anna",
    last_name="Schmidt",
    street="Hauptstr.",
    house_number="5",
    postcode="10115",
    city="Berlin",
    country="DE",
)
ANNA_BUYER = Buyer(email="anna@example.org")
BERND = Address(last_name="Bauer", street="Ring", city="Hamburg", country="DE", company_name="Bauer GmbH")


def new_order(
    order_id: str = "O-1",
    *,
    when: datetime | None = None,
    event_id: str | None = None,
    lines: tuple[OrderLine, ...] | None = None,
    seller: str = SELLER,
    status: str = "CREATED",
    buyer: Buyer | None = ANNA_BUYER,
    billing: Address | None = ANNA,
    shipping: Address | None = ANNA,
) -> NewOrder:
    when = at(0) if when is None else when
    if lines is None:
        lines = (
            line("1"),
            line("2", type="SHIPPING", quantity="1", gross_price="4.90", total="4.90", sku=None),
        )
    snapshot = OrderSnapshot(
        seller_id=seller,
        order_id=order_id,
        order_status=status,
        purchased_at=when,
        last_changed_at=when,
        currency="EUR",
        lines=lines,
        payment_method="paypal",
        buyer=buyer,
        billing_address=billing,
        shipping_address=shipping,
    )
    return NewOrder(
        event_id=event_id or next_id(), created_at=when, seller_id=seller, order_id=order_id, order=snapshot
    )


def status_update(
    order_id: str = "O-1",
    *,
    when: datetime,
    status: str = "ACCEPTED",
    items: tuple[ItemStatusChange, ...] = (),
    event_id: str | None = None,
    seller: str = SELLER,
) -> StatusUpdate:
    return StatusUpdate(
        event_id=event_id or next_id(),
        created_at=when,
        seller_id=seller,
        order_id=order_id,
        order_status=status,
        items=items,
    )


def item(item_id: str, status: str | None = None, payment: str | None = None) -> ItemStatusChange:
    return ItemStatusChange(order_item_id=item_id, item_status=status, payment_status=payment)


def address_update(
    order_id: str = "O-1",
    *,
    when: datetime,
    billing: Address | None = None,
    shipping: Address | None = None,
    buyer: Buyer | None = None,
    event_id: str | None = None,
    seller: str = SELLER,
) -> AddressUpdate:
    return AddressUpdate(
        event_id=event_id or next_id(),
        created_at=when,
        seller_id=seller,
        order_id=order_id,
        billing_address=billing,
        shipping_address=shipping,
        buyer=buyer,
    )


def accepted(
    order_id: str = "O-1",
    *,
    when: datetime,
    request_id: str = "R-1",
    lines: dict[str, str] | None = None,
    reason: str = "OUT_OF_STOCK",
    event_id: str | None = None,
    seller: str = SELLER,
) -> CancellationAccepted:
    named = None if lines is None else tuple(CancelledLine(key, Decimal(value)) for key, value in lines.items())
    return CancellationAccepted(
        event_id=event_id or next_id(),
        created_at=when,
        seller_id=seller,
        order_id=order_id,
        request_id=request_id,
        cancel_reason=reason,
        lines=named,
    )


def denied(
    order_id: str = "O-1",
    *,
    when: datetime,
    request_id: str = "R-1",
    reason: str | None = "too late",
    event_id: str | None = None,
    seller: str = SELLER,
) -> CancellationDenied:
    return CancellationDenied(
        event_id=event_id or next_id(),
        created_at=when,
        seller_id=seller,
        order_id=order_id,
        request_id=request_id,
        reason=reason,
    )
