"""The order aggregate as the domain rules see it: immutable, one value per version.

An order keeps, per field a change can set (order status, each item's status and
payment status, billing address, shipping address, buyer), the `createdAt` of the last
change applied to it: that is what makes an older change recognisable as stale however
late it arrives (docs/order-semantics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from channelport.domain.events import Address, Buyer, OrderLine


class Part(StrEnum):
    STATUS = "status"
    BILLING_ADDRESS = "billing_address"
    SHIPPING_ADDRESS = "shipping_address"
    BUYER = "buyer"


@dataclass(frozen=True, slots=True)
class LineState:
    """One item: what the channel created (`line`) and what changed since."""

    line: OrderLine
    item_status: str
    payment_status: str
    cancelled_quantity: Decimal = Decimal(0)
    status_at: datetime | None = None  # version of item_status (createdAt of its last change)
    payment_at: datetime | None = None  # version of payment_status

    @property
    def fully_cancelled(self) -> bool:
        return self.cancelled_quantity >= self.line.quantity

    @property
    def shown_status(self) -> str:
        """A fully cancelled item shows CANCELED_BY_SELLER whatever status updates said."""
        return "CANCELED_BY_SELLER" if self.fully_cancelled else self.item_status


@dataclass(frozen=True, slots=True)
class CancellationState:
    request_id: str
    state: str  # ACCEPTED or DENIED
    created_at: datetime
    cancel_reason: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str
    seller_id: str
    status: str
    purchased_at: datetime
    last_changed_at: datetime
    currency: str
    lines: tuple[LineState, ...]
    status_at: datetime
    billing_at: datetime
    shipping_at: datetime
    buyer_at: datetime
    payment_method: str | None = None
    buyer: Buyer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    cancellations: tuple[CancellationState, ...] = ()

    @property
    def shown_status(self) -> str:
        """Every line fully cancelled: CANCELED_BY_SELLER, whatever status updates said."""
        for line in self.lines:  # a plain loop: asked several times per event, and lines are few
            if line.cancelled_quantity < line.line.quantity:
                return self.status
        return "CANCELED_BY_SELLER" if self.lines else self.status

    def version(self, part: Part) -> datetime:
        return {
            Part.STATUS: self.status_at,
            Part.BILLING_ADDRESS: self.billing_at,
            Part.SHIPPING_ADDRESS: self.shipping_at,
            Part.BUYER: self.buyer_at,
        }[part]
