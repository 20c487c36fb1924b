"""Normalized events and order states as JSON values, and back, exactly.

The engine stores a parked event and re-applies it when its order arrives, possibly in
another process days later; a stored order is loaded for the next batch. Both must come
back equal to what was stored, or a replay could change an order. So decimals are
written with `str` (which keeps the exponent: "4.90" stays "4.90") and instants with
`isoformat` (which keeps microseconds and the offset), not the export's spellings.
Keys are the protocol's camelCase names where the protocol has one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelport.domain.events import (
    Address,
    AddressUpdate,
    Buyer,
    CancellationAccepted,
    CancellationDenied,
    CancelledLine,
    DomainEvent,
    EventType,
    ItemStatusChange,
    NewOrder,
    OrderLine,
    OrderSnapshot,
    StatusUpdate,
)
from channelport.domain.export import ADDRESS_FIELDS, address_json, buyer_json
from channelport.domain.order import CancellationState, LineState, OrderState

# --- scalars ------------------------------------------------------------------------------


def _instant(value: datetime) -> str:
    return value.isoformat()


def _parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"stored instant without offset: {text!r}")
    return value


def _maybe_instant(value: datetime | None) -> str | None:
    return None if value is None else _instant(value)


def _maybe_parse_instant(text: str | None) -> datetime | None:
    return None if text is None else _parse_instant(text)


def _address(data: dict[str, Any] | None) -> Address | None:
    if data is None:
        return None
    return Address(**{attr: data.get(wire) for wire, attr in ADDRESS_FIELDS})


def _buyer(data: dict[str, Any] | None) -> Buyer | None:
    if data is None:
        return None
    return Buyer(email=data.get("email"), vat_id=data.get("vatId"))


# --- events -------------------------------------------------------------------------------


def _line_json(line: OrderLine) -> dict[str, Any]:
    return {
        "orderItemId": line.order_item_id,
        "type": line.type,
        "sku": line.sku,
        "title": line.title,
        "quantity": str(line.quantity),
        "grossPrice": str(line.gross_price),
        "total": str(line.total),
        "taxPercent": str(line.tax_percent),
        "itemStatus": line.item_status,
        "itemPaymentStatus": line.item_payment_status,
    }


def _line(data: dict[str, Any]) -> OrderLine:
    return OrderLine(
        order_item_id=data["orderItemId"],
        type=data["type"],
        sku=data["sku"],
        title=data["title"],
        quantity=Decimal(data["quantity"]),
        gross_price=Decimal(data["grossPrice"]),
        total=Decimal(data["total"]),
        tax_percent=Decimal(data["taxPercent"]),
        item_status=data["itemStatus"],
        item_payment_status=data["itemPaymentStatus"],
    )


def _snapshot_json(order: OrderSnapshot) -> dict[str, Any]:
    return {
        "sellerId": order.seller_id,
        "orderId": order.order_id,
        "orderStatus": order.order_status,
        "purchasedAt": _instant(order.purchased_at),
        "lastChangedAt": _instant(order.last_changed_at),
        "currency": order.currency,
        "paymentMethod": order.payment_method,
        "buyer": buyer_json(order.buyer),
        "billingAddress": address_json(order.billing_address),
        "shippingAddress": address_json(order.shipping_address),
        "orderItem": [_line_json(line) for line in order.lines],
    }


def _snapshot(data: dict[str, Any]) -> OrderSnapshot:
    return OrderSnapshot(
        seller_id=data["sellerId"],
        order_id=data["orderId"],
        order_status=data["orderStatus"],
        purchased_at=_parse_instant(data["purchasedAt"]),
        last_changed_at=_parse_instant(data["lastChangedAt"]),
        currency=data["currency"],
        lines=tuple(_line(line) for line in data["orderItem"]),
        payment_method=data["paymentMethod"],
        buyer=_buyer(data["buyer"]),
        billing_address=_address(data["billingAddress"]),
        shipping_address=_address(data["shippingAddress"]),
    )


def _payload_json(event: DomainEvent) -> dict[str, Any]:
    if isinstance(event, NewOrder):
        return {"order": _snapshot_json(event.order)}
    if isinstance(event, StatusUpdate):
        return {
            "orderStatus": event.order_status,
            "orderItems": [
                {
                    "orderItemId": item.order_item_id,
                    "itemStatus": item.item_status,
                    "paymentStatus": item.payment_status,
                }
                for item in event.items
            ],
        }
    if isinstance(event, AddressUpdate):
        return {
            "billingAddress": address_json(event.billing_address),
            "shippingAddress": address_json(event.shipping_address),
            "buyer": buyer_json(event.buyer),
        }
    if isinstance(event, CancellationAccepted):
        return {
            "orderCancellationRequestId": event.request_id,
            "cancelReason": event.cancel_reason,
            "orderItem": None
            if event.lines is None
            else [{"orderItemId": line.order_item_id, "quantity": str(line.quantity)} for line in event.lines],
        }
    if isinstance(event, CancellationDenied):
        return {"orderCancellationRequestId": event.request_id, "reason": event.reason}
    raise TypeError(f"not a domain event: {type(event).__name__}")


def encode(event: DomainEvent) -> dict[str, Any]:
    """A JSON value that `decode` turns back into an equal event."""
    return {
        "type": str(event.type),
        "eventId": event.event_id,
        "createdAt": _instant(event.created_at),
        "sellerId": event.seller_id,
        "orderId": event.order_id,
        **_payload_json(event),
    }


def _decode_new(common: dict[str, Any], data: dict[str, Any]) -> DomainEvent:
    return NewOrder(**common, order=_snapshot(data["order"]))


def _decode_status(common: dict[str, Any], data: dict[str, Any]) -> DomainEvent:
    items = tuple(
        ItemStatusChange(
            order_item_id=item["orderItemId"], item_status=item["itemStatus"], payment_status=item["paymentStatus"]
        )
        for item in data["orderItems"]
    )
    return StatusUpdate(**common, order_status=data["orderStatus"], items=items)


def _decode_address(common: dict[str, Any], data: dict[str, Any]) -> DomainEvent:
    return AddressUpdate(
        **common,
        billing_address=_address(data["billingAddress"]),
        shipping_address=_address(data["shippingAddress"]),
        buyer=_buyer(data["buyer"]),
    )


def _decode_accepted(common: dict[str, Any], data: dict[str, Any]) -> DomainEvent:
    named = data["orderItem"]
    lines = None
    if named is not None:
        lines = tuple(
            CancelledLine(order_item_id=line["orderItemId"], quantity=Decimal(line["quantity"])) for line in named
        )
    return CancellationAccepted(
        **common, request_id=data["orderCancellationRequestId"], cancel_reason=data["cancelReason"], lines=lines
    )


def _decode_denied(common: dict[str, Any], data: dict[str, Any]) -> DomainEvent:
    return CancellationDenied(**common, request_id=data["orderCancellationRequestId"], reason=data["reason"])


_DECODERS: dict[EventType, Callable[[dict[str, Any], dict[str, Any]], DomainEvent]] = {
    EventType.ORDER: _decode_new,
    EventType.STATUS: _decode_status,
    EventType.ADDRESS: _decode_address,
    EventType.CANCELLATION_ACCEPTED: _decode_accepted,
    EventType.CANCELLATION_DENIED: _decode_denied,
}


def decode(data: dict[str, Any]) -> DomainEvent:
    """The event `encode` wrote; ValueError for a type it does not know."""
    try:
        decoder = _DECODERS[EventType(data["type"])]
    except ValueError:
        raise ValueError(f"unknown stored event type {data['type']!r}") from None
    common = {
        "event_id": data["eventId"],
        "created_at": _parse_instant(data["createdAt"]),
        "seller_id": data["sellerId"],
        "order_id": data["orderId"],
    }
    return decoder(common, data)


# --- order states -------------------------------------------------------------------------


def encode_order(order: OrderState) -> dict[str, Any]:
    """A JSON value that `decode_order` turns back into an equal state, versions included."""
    return {
        "orderId": order.order_id,
        "sellerId": order.seller_id,
        "orderStatus": order.status,
        "purchasedAt": _instant(order.purchased_at),
        "lastChangedAt": _instant(order.last_changed_at),
        "currency": order.currency,
        "paymentMethod": order.payment_method,
        "buyer": buyer_json(order.buyer),
        "billingAddress": address_json(order.billing_address),
        "shippingAddress": address_json(order.shipping_address),
        "versions": {
            "status": _instant(order.status_at),
            "billingAddress": _instant(order.billing_at),
            "shippingAddress": _instant(order.shipping_at),
            "buyer": _instant(order.buyer_at),
        },
        "orderItem": [
            {
                "line": _line_json(line.line),
                "itemStatus": line.item_status,
                "paymentStatus": line.payment_status,
                "cancelledQuantity": str(line.cancelled_quantity),
                "statusAt": _maybe_instant(line.status_at),
                "paymentAt": _maybe_instant(line.payment_at),
            }
            for line in order.lines
        ],
        "cancellationRequests": [
            {
                "orderCancellationRequestId": request.request_id,
                "state": request.state,
                "createdAt": _instant(request.created_at),
                "cancelReason": request.cancel_reason,
                "reason": request.reason,
            }
            for request in order.cancellations
        ],
    }


def decode_order(data: dict[str, Any]) -> OrderState:
    versions = data["versions"]
    return OrderState(
        order_id=data["orderId"],
        seller_id=data["sellerId"],
        status=data["orderStatus"],
        purchased_at=_parse_instant(data["purchasedAt"]),
        last_changed_at=_parse_instant(data["lastChangedAt"]),
        currency=data["currency"],
        lines=tuple(
            LineState(
                line=_line(item["line"]),
                item_status=item["itemStatus"],
                payment_status=item["paymentStatus"],
                cancelled_quantity=Decimal(item["cancelledQuantity"]),
                status_at=_maybe_parse_instant(item["statusAt"]),
                payment_at=_maybe_parse_instant(item["paymentAt"]),
            )
            for item in data["orderItem"]
        ),
        status_at=_parse_instant(versions["status"]),
        billing_at=_parse_instant(versions["billingAddress"]),
        shipping_at=_parse_instant(versions["shippingAddress"]),
        buyer_at=_parse_instant(versions["buyer"]),
        payment_method=data["paymentMethod"],
        buyer=_buyer(data["buyer"]),
        billing_address=_address(data["billingAddress"]),
        shipping_address=_address(data["shippingAddress"]),
        cancellations=tuple(
            CancellationState(
                request_id=request["orderCancellationRequestId"],
                state=request["state"],
                created_at=_parse_instant(request["createdAt"]),
                cancel_reason=request["cancelReason"],
                reason=request["reason"],
            )
            for request in data["cancellationRequests"]
        ),
    )


__all__ = ["decode", "decode_order", "encode", "encode_order"]
