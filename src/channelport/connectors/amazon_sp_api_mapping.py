"""Amazon SP-API Orders v0 records as Channelport snapshots (`OrderSeen`).

The "mapper" half of the amazon-sp-api connector; it knows the Orders v0 definitions
(ordersV0.json) and nothing about HTTP.

What an Amazon order becomes:

| OrderStatus | orderStatus | item status | payment |
|---|---|---|---|
| Pending, PendingAvailability | CREATED | UNSHIPPED | PENDING |
| Unshipped | ACCEPTED | UNSHIPPED | PAID |
| PartiallyShipped | PARTIALLY_SHIPPED | SHIPPED when all of the item shipped, else UNSHIPPED | PAID |
| Shipped, InvoiceUnconfirmed | SHIPPED | SHIPPED | PAID |
| Canceled, Unfulfillable | CANCELED_BY_SELLER | CANCELED_BY_SELLER | PENDING |

"PAID" means Amazon authorized the payment (it charges the buyer at shipment); a
cancelled order was never charged. Pending and PendingAvailability orders carry no
prices yet (getOrderItems leaves them out until payment is authorized), so by default
they are not imported until they leave that state (setting `import_pending`).

- Lines: one ITEM line per order item (`OrderItemId`), and one SHIPPING line
  (`shipping`) when the items carry shipping charges. `total` is what the buyer pays
  for the line, tax included; `grossPrice` is that per unit; `taxPercent` is derived
  from the amounts (Amazon sends tax amounts, not rates) to one decimal place.
  Whether `ItemPrice` includes tax (EU, JP, ...) or not (US, CA) is read off the order
  total, and where that does not decide it, off the marketplace.
- Addresses: the shipping address (from the listing, or from getOrderAddress where the
  status exposes it); `Name` is split at its last space into first and last name;
  the address lines become `street`, and `StateOrRegion` is kept after the city. The
  buyer is `BuyerInfo.BuyerEmail`. Orders v0 has no billing address.
- Buyer-requested cancellations (`BuyerRequestedCancel` on the items) become one
  cancellation request per order, `<AmazonOrderId>:buyer-cancel`: ACCEPTED with
  reason BUYER_CANCELLED when the order is then Canceled, DENIED when it shipped
  anyway, not answered yet otherwise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from channelport.connectors.base import Received
from channelport.connectors.event_api_mapping import describe_validation_error
from channelport.connectors.polling import RecordKey, clip
from channelport.domain.events import Address, Buyer, OrderLine, OrderSeen, OrderSnapshot, SeenCancellation
from channelport.domain.instants import format_instant, parse_instant
from channelport.domain.money import parse_decimal

WIRE_TYPE = "amazon-sp-api:Order"
EVENT_ID_PREFIX = "amz:"
SHIPPING_LINE_ID = "shipping"
BUYER_CANCEL_SUFFIX = ":buyer-cancel"

ORDER_STATUSES = (
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
)
PENDING_STATUSES = frozenset({"Pending", "PendingAvailability"})
# "ShippingAddress is only available for orders with the following status values:
# Unshipped, PartiallyShipped, Shipped and InvoiceUnconfirmed." (ordersV0.json)
ADDRESS_STATUSES = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
SHIPPED_STATUSES = frozenset({"Shipped", "InvoiceUnconfirmed"})
CANCELED_STATUSES = frozenset({"Canceled", "Unfulfillable"})

ORDER_STATUS_MAP: dict[str, str] = {
    "Pending": "CREATED",
    "PendingAvailability": "CREATED",
    "Unshipped": "ACCEPTED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "InvoiceUnconfirmed": "SHIPPED",
    "Canceled": "CANCELED_BY_SELLER",
    "Unfulfillable": "CANCELED_BY_SELLER",
}
UNPAID_STATUSES = PENDING_STATUSES | CANCELED_STATUSES


@dataclass(frozen=True, slots=True)
class Marketplace:
    country: str
    region: str  # na, eu, fe: which endpoint serves it
    currency: str
    prices_include_tax: bool


# Amazon's marketplace ids (developer-docs.amazon.com/sp-api/docs/marketplace-ids).
MARKETPLACES: dict[str, Marketplace] = {
    "A2EUQ1WTGCTBG2": Marketplace("CA", "na", "CAD", False),
    "ATVPDKIKX0DER": Marketplace("US", "na", "USD", False),
    "A1AM78C64UM0Y8": Marketplace("MX", "na", "MXN", True),
    "A2Q3Y263D00KWC": Marketplace("BR", "na", "BRL", True),
    "A28R8C7NBKEWEA": Marketplace("IE", "eu", "EUR", True),
    "A1RKKUPIHCS9HS": Marketplace("ES", "eu", "EUR", True),
    "A1F83G8C2ARO7P": Marketplace("GB", "eu", "GBP", True),
    "A13V1IB3VIYZZH": Marketplace("FR", "eu", "EUR", True),
    "AMEN7PMS3EDWL": Marketplace("BE", "eu", "EUR", True),
    "A1805IZSGTT6HS": Marketplace("NL", "eu", "EUR", True),
    "A1PA6795UKMFR9": Marketplace("DE", "eu", "EUR", True),
    "APJ6JRA9NG5V4": Marketplace("IT", "eu", "EUR", True),
    "A2NODRKZP88ZB9": Marketplace("SE", "eu", "SEK", True),
    "AE08WJ6YKNBMC": Marketplace("ZA", "eu", "ZAR", True),
    "A1C3SOZRARQ6R3": Marketplace("PL", "eu", "PLN", True),
    "ARBP9OOSHTCHU": Marketplace("EG", "eu", "EGP", True),
    "A33AVAJ2PDY3EV": Marketplace("TR", "eu", "TRY", True),
    "A17E79C6D8DWNP": Marketplace("SA", "eu", "SAR", True),
    "A2VIGQ35RCS4UG": Marketplace("AE", "eu", "AED", True),
    "A21TJRUUN4KGV": Marketplace("IN", "eu", "INR", True),
    "A19VAU5U5O7RUS": Marketplace("SG", "fe", "SGD", True),
    "A39IBJ37TRP1C6": Marketplace("AU", "fe", "AUD", True),
    "A1VC38T7YXB528": Marketplace("JP", "fe", "JPY", True),
}

ZERO = Decimal(0)
ONE_DECIMAL = Decimal("0.1")


# --------------------------------------------------------------------------- wire


class _Wire(BaseModel):
    """Only the fields Channelport reads; every other field is allowed and ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class WireMoney(_Wire):
    CurrencyCode: StrictStr | None = None
    Amount: StrictStr | None = None

    @field_validator("Amount")
    @classmethod
    def _decimal(cls, value: str | None) -> str | None:
        if value is not None:
            parse_decimal(value)
        return value

    @property
    def value(self) -> Decimal:
        return parse_decimal(self.Amount) if self.Amount not in (None, "") else ZERO


class WireAddress(_Wire):
    Name: StrictStr | None = None
    CompanyName: StrictStr | None = None
    AddressLine1: StrictStr | None = None
    AddressLine2: StrictStr | None = None
    AddressLine3: StrictStr | None = None
    City: StrictStr | None = None
    StateOrRegion: StrictStr | None = None
    PostalCode: StrictStr | None = None
    CountryCode: StrictStr | None = None
    Phone: StrictStr | None = None


class WireBuyerInfo(_Wire):
    BuyerEmail: StrictStr | None = None


class WireBuyerRequestedCancel(_Wire):
    IsBuyerRequestedCancel: StrictStr | None = None  # "true" or "false", a string on the wire
    BuyerCancelReason: StrictStr | None = None


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 timestamp string")
    return parse_instant(value)


class WireOrder(_Wire):
    AmazonOrderId: StrictStr = Field(min_length=1, max_length=150)
    PurchaseDate: datetime
    LastUpdateDate: datetime
    OrderStatus: Literal[ORDER_STATUSES]  # type: ignore[valid-type]
    MarketplaceId: StrictStr | None = None
    OrderTotal: WireMoney | None = None
    PaymentMethod: StrictStr | None = None
    PaymentMethodDetails: list[StrictStr] | None = None
    ShippingAddress: WireAddress | None = None
    BuyerInfo: WireBuyerInfo | None = None
    IsReplacementOrder: StrictBool | None = None

    @field_validator("PurchaseDate", "LastUpdateDate", mode="before")
    @classmethod
    def _instants(cls, value: Any) -> datetime:
        return _instant(value)


class WireOrderItem(_Wire):
    OrderItemId: StrictStr = Field(min_length=1)
    ASIN: StrictStr | None = None
    SellerSKU: StrictStr | None = None
    Title: StrictStr | None = None
    QuantityOrdered: StrictInt = Field(ge=0)
    QuantityShipped: StrictInt | None = Field(default=None, ge=0)
    ItemPrice: WireMoney | None = None
    ItemTax: WireMoney | None = None
    PromotionDiscount: WireMoney | None = None
    PromotionDiscountTax: WireMoney | None = None
    ShippingPrice: WireMoney | None = None
    ShippingTax: WireMoney | None = None
    ShippingDiscount: WireMoney | None = None
    ShippingDiscountTax: WireMoney | None = None
    BuyerRequestedCancel: WireBuyerRequestedCancel | None = None

    @property
    def cancel_requested(self) -> bool:
        flag = self.BuyerRequestedCancel
        return flag is not None and (flag.IsBuyerRequestedCancel or "").strip().lower() == "true"


class WireOrderAddress(_Wire):
    """The getOrderAddress payload."""

    AmazonOrderId: StrictStr
    BuyerCompanyName: StrictStr | None = None
    ShippingAddress: WireAddress | None = None


# --------------------------------------------------------------------------- records


def order_key(record: Any) -> RecordKey | None:
    """(AmazonOrderId, LastUpdateDate) of a listed record; None when it has no usable one."""
    if not isinstance(record, dict):
        return None
    order_id, updated = record.get("AmazonOrderId"), record.get("LastUpdateDate")
    if not isinstance(order_id, str) or not order_id or not isinstance(updated, str):
        return None
    try:
        return RecordKey(order_id, parse_instant(updated))
    except ValueError:
        return None


def event_id(order_id: str, updated_at: datetime) -> str:
    """The snapshot's id: one per order and last-update instant, whatever page it is on."""
    return f"{EVENT_ID_PREFIX}{order_id}:{format_instant(updated_at)}"


def parse_order(record: Any) -> WireOrder:
    """Raises `BadRecord` with a readable line when the record does not validate."""
    try:
        return WireOrder.model_validate(record)
    except ValidationError as exc:
        raise BadRecord(describe_validation_error(exc, prefix="order")) from None


def is_importable(order: WireOrder, *, import_pending: bool) -> bool:
    return import_pending or order.OrderStatus not in PENDING_STATUSES


def needs_address(order: WireOrder) -> bool:
    """getOrderAddress only where the status exposes the address and the listing lacks it."""
    return order.OrderStatus in ADDRESS_STATUSES and order.ShippingAddress is None


class BadRecord(ValueError):
    """A record that does not validate; the message says where."""


def problem(record: Any, message: str) -> Received:
    """A record Channelport cannot use, kept with its raw JSON and the reason."""
    key = order_key(record)
    if key is not None:
        rid = event_id(key.order_id, key.updated_at)
        created = key.updated_at
    else:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
        rid = EVENT_ID_PREFIX + "nid:" + hashlib.sha256(canonical.encode("utf-8", "backslashreplace")).hexdigest()
        created = None
    return Received(rid, WIRE_TYPE, created, {"order": record}, problem=clip(message, 1000))


def snapshot(
    order: WireOrder,
    record: dict[str, Any],
    items: Sequence[Any],
    address: Any | None,
    *,
    seller_id: str,
) -> Received:
    """The listed order with its items (and address payload) as one `OrderSeen`."""
    raw = {"sellerId": seller_id, "order": record, "orderItems": list(items), "orderAddress": address}
    rid = event_id(order.AmazonOrderId, order.LastUpdateDate)
    try:
        wire_items = [WireOrderItem.model_validate(item) for item in items]
        wire_address = WireOrderAddress.model_validate(address) if address is not None else None
    except ValidationError as exc:
        message = describe_validation_error(exc, prefix="orderItem" if address is None else "orderItem/address")
        return Received(rid, WIRE_TYPE, order.LastUpdateDate, raw, problem=message)
    try:
        seen = build_order_seen(order, wire_items, wire_address, seller_id=seller_id, event_id=rid)
    except (ArithmeticError, InvalidOperation) as exc:  # pragma: no cover - amounts are validated decimals
        return Received(rid, WIRE_TYPE, order.LastUpdateDate, raw, problem=f"amounts do not add up: {exc}")
    return Received(rid, WIRE_TYPE, order.LastUpdateDate, raw, event=seen)


# --------------------------------------------------------------------------- mapping


def build_order_seen(
    order: WireOrder,
    items: Sequence[WireOrderItem],
    address: WireOrderAddress | None,
    *,
    seller_id: str,
    event_id: str,
) -> OrderSeen:
    status = order.OrderStatus
    gross = prices_include_tax(order, items)
    lines = [_item_line(order, item, gross) for item in items]
    shipping = _shipping_line(order, items, gross)
    if shipping is not None:
        lines.append(shipping)
    wire_shipping = order.ShippingAddress or (address.ShippingAddress if address is not None else None)
    snapshot = OrderSnapshot(
        seller_id=seller_id,
        order_id=order.AmazonOrderId,
        order_status=ORDER_STATUS_MAP[status],
        purchased_at=order.PurchaseDate,
        last_changed_at=order.LastUpdateDate,
        currency=currency(order, items),
        lines=tuple(lines),
        payment_method=_payment_method(order),
        buyer=_buyer(order),
        billing_address=None,
        shipping_address=map_address(wire_shipping),
    )
    return OrderSeen(
        event_id=event_id,
        created_at=order.LastUpdateDate,
        seller_id=seller_id,
        order_id=order.AmazonOrderId,
        order=snapshot,
        cancellations=_buyer_cancellation(order, items),
    )


def item_status(order_status: str, item: WireOrderItem | None) -> str:
    """An item's status from the order's (`item` None: the shipping line)."""
    if order_status in CANCELED_STATUSES:
        return "CANCELED_BY_SELLER"
    if order_status in SHIPPED_STATUSES:
        return "SHIPPED"
    if order_status == "PartiallyShipped":
        if item is None:
            return "SHIPPED"  # shipping has begun
        shipped = item.QuantityShipped or 0
        return "SHIPPED" if item.QuantityOrdered > 0 and shipped >= item.QuantityOrdered else "UNSHIPPED"
    return "UNSHIPPED"


def payment_status(order_status: str) -> str:
    return "PENDING" if order_status in UNPAID_STATUSES else "PAID"


def _money(value: WireMoney | None) -> Decimal:
    return value.value if value is not None else ZERO


def prices_include_tax(order: WireOrder, items: Sequence[WireOrderItem]) -> bool:
    """Read off the order total where it decides it, else off the marketplace (default: yes)."""
    if order.OrderTotal is not None and order.OrderTotal.Amount not in (None, ""):
        total = order.OrderTotal.value
        charged = sum(
            (
                _money(i.ItemPrice) - _money(i.PromotionDiscount) + _money(i.ShippingPrice) - _money(i.ShippingDiscount)
                for i in items
            ),
            ZERO,
        )
        taxes = sum(
            (
                _money(i.ItemTax) - _money(i.PromotionDiscountTax)
                + _money(i.ShippingTax) - _money(i.ShippingDiscountTax)
                for i in items
            ),
            ZERO,
        )
        if taxes != 0 and charged == total:
            return True
        if taxes != 0 and charged + taxes == total:
            return False
    market = MARKETPLACES.get(order.MarketplaceId or "")
    return True if market is None else market.prices_include_tax


def currency(order: WireOrder, items: Sequence[WireOrderItem]) -> str:
    if order.OrderTotal is not None and order.OrderTotal.CurrencyCode:
        return order.OrderTotal.CurrencyCode
    for item in items:
        if item.ItemPrice is not None and item.ItemPrice.CurrencyCode:
            return item.ItemPrice.CurrencyCode
    market = MARKETPLACES.get(order.MarketplaceId or "")
    return market.currency if market is not None else "XXX"  # ISO 4217: no currency


def _line_amounts(price: Decimal, tax: Decimal, gross: bool) -> tuple[Decimal, Decimal]:
    """(total the buyer pays, tax percent) of one line."""
    total = price if gross else price + tax
    net = total - tax
    percent = ZERO if net == 0 or tax == 0 else (tax * 100 / net).quantize(ONE_DECIMAL)
    return total, _plain(percent)


def _plain(value: Decimal) -> Decimal:
    """`19.0` as `19`, `5.5` stays: without an exponent (decimal_text writes it plainly)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _unit(total: Decimal, quantity: Decimal) -> Decimal:
    if quantity <= 0:
        return total
    return (total / quantity).quantize(Decimal(1).scaleb(min(int(total.as_tuple().exponent), 0)))


def _item_line(order: WireOrder, item: WireOrderItem, gross: bool) -> OrderLine:
    price = _money(item.ItemPrice) - _money(item.PromotionDiscount)
    tax = _money(item.ItemTax) - _money(item.PromotionDiscountTax)
    total, percent = _line_amounts(price, tax, gross)
    quantity = Decimal(item.QuantityOrdered)
    return OrderLine(
        order_item_id=item.OrderItemId,
        type="ITEM",
        quantity=quantity,
        gross_price=_unit(total, quantity),
        total=total,
        tax_percent=percent,
        item_status=item_status(order.OrderStatus, item),
        item_payment_status=payment_status(order.OrderStatus),
        sku=item.SellerSKU,
        title=item.Title,
    )


def _shipping_line(order: WireOrder, items: Sequence[WireOrderItem], gross: bool) -> OrderLine | None:
    price = sum((_money(i.ShippingPrice) - _money(i.ShippingDiscount) for i in items), ZERO)
    if price <= 0:
        return None
    tax = sum((_money(i.ShippingTax) - _money(i.ShippingDiscountTax) for i in items), ZERO)
    total, percent = _line_amounts(price, tax, gross)
    return OrderLine(
        order_item_id=SHIPPING_LINE_ID,
        type="SHIPPING",
        quantity=Decimal(1),
        gross_price=total,
        total=total,
        tax_percent=percent,
        item_status=item_status(order.OrderStatus, None),
        item_payment_status=payment_status(order.OrderStatus),
        sku=None,
        title="Shipping",
    )


def _payment_method(order: WireOrder) -> str | None:
    if order.PaymentMethodDetails:
        return "+".join(order.PaymentMethodDetails)
    return order.PaymentMethod


def _buyer(order: WireOrder) -> Buyer | None:
    email = order.BuyerInfo.BuyerEmail if order.BuyerInfo is not None else None
    return Buyer(email=email) if email else None


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """`Anna Maria Schmidt` -> (`Anna Maria`, `Schmidt`); one word is a last name."""
    if not name or not name.strip():
        return None, None
    first, _, last = name.strip().rpartition(" ")
    return (first.strip() or None), last


def map_address(wire: WireAddress | None) -> Address | None:
    if wire is None:
        return None
    first, last = split_name(wire.Name)
    given = (wire.AddressLine1, wire.AddressLine2, wire.AddressLine3)
    lines = [line.strip() for line in given if line and line.strip()]
    city = (wire.City or "").strip()
    state = (wire.StateOrRegion or "").strip()
    if state and state.lower() not in city.lower():
        city = f"{city}, {state}" if city else state
    address = Address(
        first_name=first,
        last_name=last,
        street=", ".join(lines) or None,
        house_number=None,
        postcode=wire.PostalCode or None,
        city=city or None,
        country=wire.CountryCode or None,
        phone=wire.Phone or None,
        company_name=wire.CompanyName or None,
    )
    return None if address == Address() else address


def _buyer_cancellation(order: WireOrder, items: Sequence[WireOrderItem]) -> tuple[SeenCancellation, ...]:
    requested = [item for item in items if item.cancel_requested]
    if not requested:
        return ()
    request_id = order.AmazonOrderId + BUYER_CANCEL_SUFFIX
    if order.OrderStatus == "Canceled":
        # A cancelled order is cancelled whole, whichever items the buyer named.
        return (SeenCancellation(request_id=request_id, state="ACCEPTED", cancel_reason="BUYER_CANCELLED"),)
    if order.OrderStatus in SHIPPED_STATUSES:
        said = next((i.BuyerRequestedCancel.BuyerCancelReason for i in requested
                     if i.BuyerRequestedCancel is not None and i.BuyerRequestedCancel.BuyerCancelReason), None)
        reason = "the order was shipped" + (f"; the buyer's reason: {said}" if said else "")
        return (SeenCancellation(request_id=request_id, state="DENIED", reason=clip(reason, 250)),)
    return ()  # asked, not answered yet


__all__ = [
    "ADDRESS_STATUSES",
    "MARKETPLACES",
    "ORDER_STATUS_MAP",
    "WIRE_TYPE",
    "BadRecord",
    "Marketplace",
    "WireOrder",
    "WireOrderItem",
    "build_order_seen",
    "event_id",
    "is_importable",
    "map_address",
    "needs_address",
    "order_key",
    "parse_order",
    "problem",
    "snapshot",
]
