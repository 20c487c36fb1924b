"""Normalized order events: what every connector turns its wire format into.

The domain speaks only these types. A queue connector maps one wire event to one of
them; a polling connector derives them by comparing snapshots with the stored order.
They are frozen so that a decision can never alter the event it was made from, and
money and quantities are `Decimal` because a float would change a merchant's totals.

Every instant is a timezone-aware `datetime` in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class EventType(StrEnum):
    """The five event types of the Import tab, in the order the tab lists them."""

    ORDER = "order"
    STATUS = "status"
    ADDRESS = "address"
    CANCELLATION_ACCEPTED = "cancellation_accepted"
    CANCELLATION_DENIED = "cancellation_denied"


EVENT_TYPES: tuple[EventType, ...] = tuple(EventType)

ORDER_STATUSES = frozenset(
    {"UNACKED", "CREATED", "ACCEPTED", "SHIPPED", "PARTIALLY_SHIPPED", "CANCELED_BY_SELLER", "CANCELED_BY_BUYER"}
)
ITEM_STATUSES = frozenset({"UNSHIPPED", "SHIPPED", "CANCELED_BY_SELLER", "CANCELED_BY_BUYER", "RETURNED", "REFUNDED"})
PAYMENT_STATUSES = frozenset({"PENDING", "PAID"})
ITEM_TYPES = frozenset({"ITEM", "SHIPPING"})
CANCEL_REASONS = frozenset(
    {
        "BUYER_CANCELLED",
        "UNDELIVERABLE_TO_SHIPPING_ADDRESS",
        "UNDELIVERABLE_BY_CARRIER",
        "OUT_OF_STOCK",
        "DELAYED_INVENTORY",
        "PRICING_ERROR",
        "OTHER",
    }
)


@dataclass(frozen=True, slots=True)
class Address:
    """The protocol's address fields; absent ones are None."""

    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None
    company_name: str | None = None


@dataclass(frozen=True, slots=True)
class Buyer:
    email: str | None = None
    vat_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order item as the channel created it."""

    order_item_id: str
    type: str  # ITEM or SHIPPING
    quantity: Decimal
    gross_price: Decimal
    total: Decimal
    tax_percent: Decimal
    item_status: str
    item_payment_status: str
    sku: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """The order as a `Channel:Order.New` event carries it (as it was created)."""

    seller_id: str
    order_id: str
    order_status: str
    purchased_at: datetime
    last_changed_at: datetime
    currency: str
    lines: tuple[OrderLine, ...]
    payment_method: str | None = None
    buyer: Buyer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None


@dataclass(frozen=True, slots=True)
class ItemStatusChange:
    """One item a status update lists; None means that field did not change."""

    order_item_id: str
    item_status: str | None = None
    payment_status: str | None = None


@dataclass(frozen=True, slots=True)
class CancelledLine:
    order_item_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Fields every normalized event has.

    `event_id` is the channel's id of this delivery (it MAY change on a re-queue);
    `created_at` is the moment of the change on the channel, which orders changes.
    """

    event_id: str
    created_at: datetime
    seller_id: str
    order_id: str

    @property
    def type(self) -> EventType:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class NewOrder(OrderEvent):
    order: OrderSnapshot

    @property
    def type(self) -> EventType:
        return EventType.ORDER


@dataclass(frozen=True, slots=True)
class StatusUpdate(OrderEvent):
    order_status: str
    items: tuple[ItemStatusChange, ...] = ()

    @property
    def type(self) -> EventType:
        return EventType.STATUS


@dataclass(frozen=True, slots=True)
class AddressUpdate(OrderEvent):
    billing_address: Address | None = None
    shipping_address: Address | None = None
    buyer: Buyer | None = None

    @property
    def type(self) -> EventType:
        return EventType.ADDRESS


@dataclass(frozen=True, slots=True)
class CancellationAccepted(OrderEvent):
    request_id: str
    cancel_reason: str
    lines: tuple[CancelledLine, ...] | None = None  # None: the whole order

    @property
    def type(self) -> EventType:
        return EventType.CANCELLATION_ACCEPTED


@dataclass(frozen=True, slots=True)
class CancellationDenied(OrderEvent):
    request_id: str
    reason: str | None = None

    @property
    def type(self) -> EventType:
        return EventType.CANCELLATION_DENIED


DomainEvent = NewOrder | StatusUpdate | AddressUpdate | CancellationAccepted | CancellationDenied


@dataclass(frozen=True, slots=True)
class SeenCancellation:
    """A cancellation answer as a polling channel lists it on the order."""

    request_id: str
    state: str  # ACCEPTED or DENIED
    cancel_reason: str | None = None
    reason: str | None = None
    lines: tuple[CancelledLine, ...] | None = None  # None: the whole order


@dataclass(frozen=True, slots=True)
class OrderSeen(OrderEvent):
    """A polling channel's current view of an order ("orders updated since T").

    Polling channels have no event queue; the domain turns a snapshot into the five
    event types by comparing it with the stored order (`domain.snapshots.expand`).
    `order` carries the CURRENT statuses (order and items); `created_at` is the channel's
    last-update instant of the order, which versions the derived changes.
    """

    order: OrderSnapshot
    cancellations: tuple[SeenCancellation, ...] = ()

    @property
    def type(self) -> EventType:
        return EventType.ORDER
