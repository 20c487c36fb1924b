"""The stable export of one order (DESIGN.md "Export format", docs/order-semantics.md).

The simulator writes its ground truth in this same shape, independently, and the
end-to-end tests compare the two with `==`; so every key, its position and every
spelling here is part of the contract. The order's *shown* statuses are exported:
a fully cancelled item or order shows CANCELED_BY_SELLER whatever status updates said.
"""

from __future__ import annotations

from typing import Any

from channelport.domain.events import Address, Buyer
from channelport.domain.instants import format_instant
from channelport.domain.money import decimal_text
from channelport.domain.order import CancellationState, LineState, OrderState

# The protocol's address fields, in its order: (camelCase wire name, Address attribute).
ADDRESS_FIELDS: tuple[tuple[str, str], ...] = (
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("street", "street"),
    ("houseNumber", "house_number"),
    ("postcode", "postcode"),
    ("city", "city"),
    ("country", "country"),
    ("phone", "phone"),
    ("companyName", "company_name"),
)


def address_json(address: Address | None) -> dict[str, str | None] | None:
    """All nine protocol fields, absent ones None; a missing address is None."""
    if address is None:
        return None
    return {wire: getattr(address, attr) for wire, attr in ADDRESS_FIELDS}


def buyer_json(buyer: Buyer | None) -> dict[str, str | None] | None:
    if buyer is None:
        return None
    return {"email": buyer.email, "vatId": buyer.vat_id}


def item_json(line: LineState) -> dict[str, Any]:
    item = line.line
    return {
        "orderItemId": item.order_item_id,
        "type": item.type,
        "sku": item.sku,
        "quantity": decimal_text(item.quantity),
        "cancelledQuantity": decimal_text(line.cancelled_quantity),
        "grossPrice": decimal_text(item.gross_price),
        "total": decimal_text(item.total),
        "taxPercent": decimal_text(item.tax_percent),
        "itemStatus": line.shown_status,
        "itemPaymentStatus": line.payment_status,
    }


def cancellation_json(request: CancellationState) -> dict[str, str | None]:
    """An answered request; `cancelReason` only for an acceptance, `reason` only for a denial."""
    accepted = request.state == "ACCEPTED"
    return {
        "orderCancellationRequestId": request.request_id,
        "state": request.state,
        "cancelReason": request.cancel_reason if accepted else None,
        "reason": None if accepted else request.reason,
    }


def order_export(account: str, order: OrderState) -> dict[str, Any]:
    """One order as one JSON object of `channelport orders export --format jsonl`."""
    return {
        "account": account,
        "orderId": order.order_id,
        "orderStatus": order.shown_status,
        "currency": order.currency,
        "purchasedAt": format_instant(order.purchased_at),
        "paymentMethod": order.payment_method,
        "buyer": buyer_json(order.buyer),
        "billingAddress": address_json(order.billing_address),
        "shippingAddress": address_json(order.shipping_address),
        "orderItem": [item_json(line) for line in order.lines],
        "cancellationRequests": [
            cancellation_json(request) for request in sorted(order.cancellations, key=lambda r: r.request_id)
        ],
    }


__all__ = ["ADDRESS_FIELDS", "address_json", "buyer_json", "cancellation_json", "item_json", "order_export"]
