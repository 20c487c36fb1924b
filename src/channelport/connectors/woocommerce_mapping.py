"""WooCommerce REST v3 orders as Channelport snapshots (`OrderSeen`).

The "mapper" half of the woocommerce connector; it knows the shape of
`GET /wp-json/wc/v3/orders` records and nothing about HTTP.

| status | orderStatus | item status |
|---|---|---|
| pending (awaiting payment), on-hold, failed | CREATED | UNSHIPPED |
| processing (paid, to be fulfilled) | ACCEPTED | UNSHIPPED |
| completed | SHIPPED | SHIPPED |
| cancelled, trash | CANCELED_BY_SELLER | CANCELED_BY_SELLER |
| refunded | CANCELED_BY_SELLER | REFUNDED |
| checkout-draft | not imported (a cart, not an order yet) | |

Payment is PAID once the order has `date_paid_gmt`, else PENDING. A status a plugin
added is not guessed at: the order is recorded as rejected with its raw JSON and the
reason, and imported when it reaches a known status.

- Lines: `line_items` and `fee_lines` as ITEM lines, `shipping_lines` as SHIPPING
  lines, each under its own id. `total` is the line total with its tax (`total` +
  `total_tax`), `grossPrice` that per unit, `taxPercent` derived from the two amounts
  to one decimal place.
- Addresses: `billing` and `shipping` (an empty shipping address, as for downloads, is
  absent); `address_1`/`address_2` become `street`, `state` is kept after the city.
  The buyer is the billing e-mail.
- WooCommerce has no cancellation requests: nothing is derived for them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError, field_validator

from channelport.connectors.base import Received
from channelport.connectors.event_api_mapping import describe_validation_error
from channelport.connectors.polling import RecordKey, clip
from channelport.domain.events import Address, Buyer, OrderLine, OrderSeen, OrderSnapshot
from channelport.domain.instants import UTC, format_instant, parse_instant
from channelport.domain.money import parse_decimal

WIRE_TYPE = "woocommerce:order"
EVENT_ID_PREFIX = "woo:"

ORDER_STATUS_MAP: dict[str, str] = {
    "pending": "CREATED",
    "on-hold": "CREATED",
    "failed": "CREATED",
    "processing": "ACCEPTED",
    "completed": "SHIPPED",
    "cancelled": "CANCELED_BY_SELLER",
    "trash": "CANCELED_BY_SELLER",
    "refunded": "CANCELED_BY_SELLER",
}
ITEM_STATUS_MAP: dict[str, str] = {
    "pending": "UNSHIPPED",
    "on-hold": "UNSHIPPED",
    "failed": "UNSHIPPED",
    "processing": "UNSHIPPED",
    "completed": "SHIPPED",
    "cancelled": "CANCELED_BY_SELLER",
    "trash": "CANCELED_BY_SELLER",
    "refunded": "REFUNDED",
}
NOT_ORDERS = frozenset({"checkout-draft", "auto-draft"})

ZERO = Decimal(0)
ONE_DECIMAL = Decimal("0.1")


def gmt_instant(value: Any) -> datetime:
    """A `*_gmt` field: ISO 8601 without an offset, in UTC (an offset, if given, wins)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ISO 8601 timestamp string")
    text = value.strip()
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parse_instant(text)


# --------------------------------------------------------------------------- wire


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _amount(value: Any) -> str:
    """WooCommerce writes amounts as strings ("16.00"); a bare number would be a guess."""
    if not isinstance(value, str):
        raise ValueError("expected a decimal string")
    parse_decimal(value)
    return value


class WooAddress(_Wire):
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    company: StrictStr | None = None
    address_1: StrictStr | None = None
    address_2: StrictStr | None = None
    city: StrictStr | None = None
    state: StrictStr | None = None
    postcode: StrictStr | None = None
    country: StrictStr | None = None
    email: StrictStr | None = None
    phone: StrictStr | None = None


class WooLine(_Wire):
    id: StrictInt
    name: StrictStr | None = None
    sku: StrictStr | None = None
    quantity: Decimal = Decimal(1)
    total: str
    total_tax: str = "0"

    @field_validator("total", "total_tax", mode="before")
    @classmethod
    def _amounts(cls, value: Any) -> str:
        return _amount(value)

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("expected a number")
        quantity = Decimal(str(value))
        if not quantity.is_finite() or quantity < 0:
            raise ValueError("must be a non-negative number")
        return quantity


class WooShippingLine(_Wire):
    id: StrictInt
    method_title: StrictStr | None = None
    total: str
    total_tax: str = "0"

    @field_validator("total", "total_tax", mode="before")
    @classmethod
    def _amounts(cls, value: Any) -> str:
        return _amount(value)


class WooOrder(_Wire):
    id: StrictInt
    status: StrictStr
    currency: StrictStr
    date_created_gmt: datetime
    date_modified_gmt: datetime
    date_paid_gmt: datetime | None = None
    payment_method: StrictStr | None = None
    billing: WooAddress | None = None
    shipping: WooAddress | None = None
    line_items: list[WooLine] = []
    shipping_lines: list[WooShippingLine] = []
    fee_lines: list[WooLine] = []

    @field_validator("date_created_gmt", "date_modified_gmt", mode="before")
    @classmethod
    def _instants(cls, value: Any) -> datetime:
        return gmt_instant(value)

    @field_validator("date_paid_gmt", mode="before")
    @classmethod
    def _paid(cls, value: Any) -> datetime | None:
        return None if value in (None, "") else gmt_instant(value)


# --------------------------------------------------------------------------- records


def order_key(record: Any) -> RecordKey | None:
    if not isinstance(record, dict):
        return None
    order_id, modified = record.get("id"), record.get("date_modified_gmt")
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        return None
    try:
        return RecordKey(str(order_id), gmt_instant(modified))
    except ValueError:
        return None


def event_id(order_id: str, modified: datetime) -> str:
    return f"{EVENT_ID_PREFIX}{order_id}:{format_instant(modified)}"


def is_order(record: Any) -> bool:
    """False for drafts WooCommerce lists but that are no orders yet."""
    return not (isinstance(record, dict) and record.get("status") in NOT_ORDERS)


def map_record(record: Any, *, seller_id: str) -> Received:
    """One listed record as a snapshot, or as a problem with the reason; never raises."""
    key = order_key(record)
    raw = {"sellerId": seller_id, "order": record}
    if key is None:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
        rid = EVENT_ID_PREFIX + "nid:" + hashlib.sha256(canonical.encode("utf-8", "backslashreplace")).hexdigest()
        return Received(rid, WIRE_TYPE, None, raw, problem="order: no usable id and date_modified_gmt")
    rid = event_id(key.order_id, key.updated_at)
    try:
        order = WooOrder.model_validate(record)
    except ValidationError as exc:
        return Received(rid, WIRE_TYPE, key.updated_at, raw, problem=describe_validation_error(exc, prefix="order"))
    if order.status not in ORDER_STATUS_MAP:
        known = ", ".join(sorted(ORDER_STATUS_MAP))
        problem = f"order.status: {order.status!r} is not a WooCommerce status Channelport knows ({known})"
        return Received(rid, WIRE_TYPE, key.updated_at, raw, problem=clip(problem, 500))
    seen = build_order_seen(order, seller_id=seller_id, event_id=rid)
    return Received(rid, WIRE_TYPE, key.updated_at, raw, event=seen)


# --------------------------------------------------------------------------- mapping


def build_order_seen(order: WooOrder, *, seller_id: str, event_id: str) -> OrderSeen:
    item_status = ITEM_STATUS_MAP[order.status]
    payment = "PAID" if order.date_paid_gmt is not None else "PENDING"
    lines = [
        _line(str(item.id), "ITEM", item.quantity, item.total, item.total_tax, item_status, payment, item.sku,
              item.name)
        for item in (*order.line_items, *order.fee_lines)
    ]
    lines += [
        _line(str(ship.id), "SHIPPING", Decimal(1), ship.total, ship.total_tax, item_status, payment, None,
              ship.method_title)
        for ship in order.shipping_lines
    ]
    snapshot = OrderSnapshot(
        seller_id=seller_id,
        order_id=str(order.id),
        order_status=ORDER_STATUS_MAP[order.status],
        purchased_at=order.date_created_gmt,
        last_changed_at=order.date_modified_gmt,
        currency=order.currency,
        lines=tuple(lines),
        payment_method=order.payment_method or None,
        buyer=_buyer(order.billing),
        billing_address=map_address(order.billing),
        shipping_address=map_address(order.shipping),
    )
    return OrderSeen(
        event_id=event_id,
        created_at=order.date_modified_gmt,
        seller_id=seller_id,
        order_id=str(order.id),
        order=snapshot,
    )


def _line(
    item_id: str,
    kind: str,
    quantity: Decimal,
    total_text: str,
    tax_text: str,
    status: str,
    payment: str,
    sku: str | None,
    title: str | None,
) -> OrderLine:
    net, tax = parse_decimal(total_text), parse_decimal(tax_text)
    total = net + tax
    percent = ZERO if net == 0 or tax == 0 else _plain((tax * 100 / net).quantize(ONE_DECIMAL))
    cents = Decimal(1).scaleb(min(int(total.as_tuple().exponent), 0))  # the total's own precision
    unit = total if quantity <= 0 else (total / quantity).quantize(cents)
    return OrderLine(
        order_item_id=item_id,
        type=kind,
        quantity=quantity,
        gross_price=unit,
        total=total,
        tax_percent=percent,
        item_status=status,
        item_payment_status=payment,
        sku=sku or None,
        title=title or None,
    )


def _plain(value: Decimal) -> Decimal:
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _buyer(billing: WooAddress | None) -> Buyer | None:
    email = billing.email.strip() if billing is not None and billing.email else ""
    return Buyer(email=email) if email else None


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None


def map_address(wire: WooAddress | None) -> Address | None:
    if wire is None:
        return None
    lines = [line for line in (_text(wire.address_1), _text(wire.address_2)) if line]
    city, state = _text(wire.city) or "", _text(wire.state) or ""
    if state and state.lower() not in city.lower():
        city = f"{city}, {state}" if city else state
    address = Address(
        first_name=_text(wire.first_name),
        last_name=_text(wire.last_name),
        street=", ".join(lines) or None,
        house_number=None,
        postcode=_text(wire.postcode),
        city=city or None,
        country=_text(wire.country),
        phone=_text(wire.phone),
        company_name=_text(wire.company),
    )
    return None if address == Address() else address


__all__ = [
    "ITEM_STATUS_MAP",
    "ORDER_STATUS_MAP",
    "WIRE_TYPE",
    "WooOrder",
    "build_order_seen",
    "event_id",
    "gmt_instant",
    "is_order",
    "map_address",
    "map_record",
    "order_key",
]
