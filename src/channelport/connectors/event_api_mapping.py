"""Channel Event API payloads: what the wire may carry, and how it becomes domain events.

This is the "mapper" half of the connector (`event_api_client` is the "adapter"): it
knows what the protocol page allows and nothing about HTTP.

Why it is shaped like this:
- A page is decoded once (`decode_page`); each entry is then validated on its own, so
  one bad event never costs the others. An entry that does not validate is kept with
  its raw JSON and a one-line `problem`; an unknown type is kept as `unknown`. Mapping
  never raises: a page the engine cannot record would block the queue for good.
- Decimals must arrive as strings and instants as RFC 3339 with an offset. A JSON
  number for money may already have lost digits, and an instant without an offset is
  a guess, so both are refused rather than coerced.
- The payload schemas are Pydantic (pydantic-core) schemas, compiled once at import,
  that validate straight into the frozen domain dataclasses. Validating into
  `BaseModel`s and copying those into the domain classes measured 2 to 3 times slower
  per event (a New event has ~40 fields), and the engine must keep up with thousands
  of events a second. Each record below lists its fields as
  `domain_name=_field("wireName", schema)`, which is the whole mapping.
- The small answers (`event-imports`, `acknowledged`) are ordinary `BaseModel`s: they
  are not on the hot path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import SchemaValidator, core_schema, from_json

from channelport.connectors.base import Received, Screen, Settled
from channelport.connectors.content import content_digest, entry_text, lenient_loads
from channelport.domain.events import (
    CANCEL_REASONS,
    ITEM_STATUSES,
    ITEM_TYPES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
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
from channelport.domain.instants import UTC, format_instant
from channelport.domain.shared import shared_line, shared_shipping

# --------------------------------------------------------------------------- wire names

WIRE_TYPES: dict[EventType, str] = {
    EventType.ORDER: "Channel:Order.New",
    EventType.STATUS: "Channel:Order.StatusUpdate",
    EventType.ADDRESS: "Channel:Order.AddressUpdate",
    EventType.CANCELLATION_ACCEPTED: "Channel:Order.CancellationAccepted",
    EventType.CANCELLATION_DENIED: "Channel:Order.CancellationDenied",
}
EVENT_TYPES_BY_WIRE: dict[str, EventType] = {wire: kind for kind, wire in WIRE_TYPES.items()}

MAX_PAGE = 1000  # "limit (1 to 1000)"
MAX_ACK_IDS = 100  # "eventIdList ... with 1 to 100 ids"
SYNTHETIC_ID_PREFIX = "nid:"

# --------------------------------------------------------------------------- scalars

_DECIMAL_TEXT = r"^-?[0-9]+(?:\.[0-9]+)?$"
_INSTANT_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"

TEXT = core_schema.str_schema(strict=True)
NON_EMPTY = core_schema.str_schema(strict=True, min_length=1)
ORDER_ID = core_schema.str_schema(strict=True, min_length=1, max_length=150)
CURRENCY = core_schema.str_schema(strict=True, pattern=r"^[A-Z]{3}$")  # ISO 4217 shape
COUNTRY = core_schema.str_schema(strict=True, pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2 shape
REASON = core_schema.str_schema(strict=True, max_length=250)
# A strict string of the protocol's shape first, so a JSON number is refused, then the value.
DECIMAL = core_schema.chain_schema(
    [core_schema.str_schema(strict=True, pattern=_DECIMAL_TEXT), core_schema.decimal_schema()]
)
QUANTITY = core_schema.chain_schema(
    [core_schema.str_schema(strict=True, pattern=_DECIMAL_TEXT), core_schema.decimal_schema(ge=0)]
)
INSTANT = core_schema.chain_schema(
    [
        core_schema.str_schema(strict=True, pattern=_INSTANT_TEXT),
        core_schema.datetime_schema(tz_constraint="aware"),
        # The domain keeps every instant in UTC with the standard library's tzinfo.
        core_schema.no_info_plain_validator_function(lambda value: value.astimezone(UTC)),
    ]
)


def _one_of(values: Iterable[str]) -> core_schema.CoreSchema:
    return core_schema.literal_schema(sorted(values))


# The value sets come from the domain, so the two can never drift apart.
ORDER_STATUS = _one_of(ORDER_STATUSES)
ITEM_STATUS = _one_of(ITEM_STATUSES)
PAYMENT_STATUS = _one_of(PAYMENT_STATUSES)
ITEM_TYPE = _one_of(ITEM_TYPES)
CANCEL_REASON = _one_of(CANCEL_REASONS)

# --------------------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    alias: str
    schema: core_schema.CoreSchema
    optional: bool  # may be absent or null; then the domain default applies


def _field(alias: str, schema: core_schema.CoreSchema, *, optional: bool = False) -> _Field:
    return _Field(alias, schema, optional)


def _optional(schema: core_schema.CoreSchema, default: Any = None) -> core_schema.CoreSchema:
    return core_schema.with_default_schema(core_schema.nullable_schema(schema), default=default)


def _many(item: core_schema.CoreSchema, *, min_length: int = 0) -> core_schema.CoreSchema:
    """A JSON array as a tuple (the domain's sequences are tuples)."""
    return core_schema.tuple_schema([item], variadic_item_index=0, min_length=min_length)


def _record(cls: type, **fields: _Field) -> core_schema.CoreSchema:
    """A wire object validated straight into the frozen domain dataclass `cls`.

    Every dataclass field must be listed: the schema, not `__init__`, fills the slots.
    """
    expected = [f.name for f in dataclasses.fields(cls)]
    if sorted(expected) != sorted(fields):
        raise TypeError(f"{cls.__name__}: fields {sorted(fields)} do not match {sorted(expected)}")
    args = [
        core_schema.dataclass_field(
            name,
            _optional(spec.schema) if spec.optional else spec.schema,
            validation_alias=spec.alias,
        )
        for name, spec in fields.items()
    ]
    return core_schema.dataclass_schema(
        cls,
        core_schema.dataclass_args_schema(cls.__name__, args),
        list(fields),
        slots=True,
        frozen=True,
    )


def _payload(**fields: _Field) -> core_schema.CoreSchema:
    """A top-level payload as a dict keyed by domain names; absent optional keys are omitted.

    Top-level events also need the envelope's id and `createdAt`, so they are built in
    Python from this dict; everything below them is built by the schema.
    """
    return core_schema.typed_dict_schema(
        {
            name: core_schema.typed_dict_field(
                core_schema.nullable_schema(spec.schema) if spec.optional else spec.schema,
                required=not spec.optional,
                validation_alias=spec.alias,
            )
            for name, spec in fields.items()
        }
    )


def _distinct_item_ids(lines: tuple[OrderLine, ...]) -> tuple[OrderLine, ...]:
    """Two items with one id would make every later status update ambiguous."""
    ids = {line.order_item_id for line in lines}
    if len(ids) != len(lines):
        raise ValueError("orderItemId values must be distinct within an order")
    return lines


def _shared_lines(lines: tuple[OrderLine, ...]) -> tuple[OrderLine, ...]:
    """Valid lines, shared with equal lines of other orders (domain/shared.py)."""
    return tuple([shared_line(line) for line in lines])


ADDRESS = _record(
    Address,
    last_name=_field("lastName", NON_EMPTY),
    street=_field("street", NON_EMPTY),
    city=_field("city", NON_EMPTY),
    country=_field("country", COUNTRY),
    first_name=_field("firstName", TEXT, optional=True),
    house_number=_field("houseNumber", TEXT, optional=True),
    postcode=_field("postcode", TEXT, optional=True),
    phone=_field("phone", TEXT, optional=True),
    company_name=_field("companyName", TEXT, optional=True),
)
BUYER = _record(
    Buyer,
    email=_field("email", TEXT, optional=True),
    vat_id=_field("vatId", TEXT, optional=True),
)
ORDER_LINE = _record(
    OrderLine,
    order_item_id=_field("orderItemId", NON_EMPTY),
    type=_field("type", ITEM_TYPE),
    quantity=_field("quantity", QUANTITY),
    gross_price=_field("grossPrice", DECIMAL),
    total=_field("total", DECIMAL),
    tax_percent=_field("taxPercent", DECIMAL),
    item_status=_field("itemStatus", ITEM_STATUS),
    item_payment_status=_field("itemPaymentStatus", PAYMENT_STATUS),
    sku=_field("sku", TEXT, optional=True),
    title=_field("title", TEXT, optional=True),
)
ITEM_STATUS_CHANGE = _record(
    ItemStatusChange,
    order_item_id=_field("orderItemId", NON_EMPTY),
    item_status=_field("itemStatus", ITEM_STATUS, optional=True),
    payment_status=_field("paymentStatus", PAYMENT_STATUS, optional=True),
)
CANCELLED_LINE = _record(
    CancelledLine,
    order_item_id=_field("orderItemId", NON_EMPTY),
    quantity=_field("quantity", QUANTITY),
)

# `Channel:Order.New`: the payload is the order snapshot itself.
NEW_ORDER = _record(
    OrderSnapshot,
    seller_id=_field("sellerId", NON_EMPTY),
    order_id=_field("orderId", ORDER_ID),
    order_status=_field("orderStatus", ORDER_STATUS),
    purchased_at=_field("purchasedAt", INSTANT),
    last_changed_at=_field("lastChangedAt", INSTANT),
    currency=_field("currency", CURRENCY),
    lines=_field(
        "orderItem",
        core_schema.no_info_after_validator_function(
            _shared_lines,
            core_schema.no_info_after_validator_function(_distinct_item_ids, _many(ORDER_LINE, min_length=1)),
        ),
    ),
    payment_method=_field("paymentMethod", TEXT, optional=True),
    buyer=_field("buyer", BUYER, optional=True),
    billing_address=_field("billingAddress", ADDRESS, optional=True),
    shipping_address=_field("shippingAddress", ADDRESS, optional=True),
)
STATUS_UPDATE = _payload(
    seller_id=_field("sellerId", NON_EMPTY),
    order_id=_field("orderId", ORDER_ID),
    order_status=_field("orderStatus", ORDER_STATUS),
    items=_field("orderItems", _many(ITEM_STATUS_CHANGE), optional=True),  # only the items that changed
)
ADDRESS_UPDATE = _payload(
    seller_id=_field("sellerId", NON_EMPTY),
    order_id=_field("orderId", ORDER_ID),
    billing_address=_field("billingAddress", ADDRESS, optional=True),
    shipping_address=_field("shippingAddress", ADDRESS, optional=True),
    buyer=_field("buyer", BUYER, optional=True),
)
CANCELLATION_ACCEPTED = _payload(
    seller_id=_field("sellerId", NON_EMPTY),
    order_id=_field("orderId", ORDER_ID),
    request_id=_field("orderCancellationRequestId", NON_EMPTY),
    cancel_reason=_field("cancelReason", CANCEL_REASON),
    # Absent or null: the whole order. An empty array would name nothing; it is refused
    # rather than guessed at.
    lines=_field("orderItem", _many(CANCELLED_LINE, min_length=1), optional=True),
)
CANCELLATION_DENIED = _payload(
    seller_id=_field("sellerId", NON_EMPTY),
    order_id=_field("orderId", ORDER_ID),
    request_id=_field("orderCancellationRequestId", NON_EMPTY),
    reason=_field("reason", REASON),
)


def _new_order(event_id: str, created_at: datetime, order: OrderSnapshot) -> NewOrder:
    shipping = shared_shipping(order.billing_address, order.shipping_address)
    if shipping is not order.shipping_address:
        order = dataclasses.replace(order, shipping_address=shipping)
    return NewOrder(event_id, created_at, order.seller_id, order.order_id, order)


def _status_update(event_id: str, created_at: datetime, data: dict[str, Any]) -> StatusUpdate:
    items = data.pop("items", None) or ()
    return StatusUpdate(event_id=event_id, created_at=created_at, items=items, **data)


def _address_update(event_id: str, created_at: datetime, data: dict[str, Any]) -> AddressUpdate:
    return AddressUpdate(event_id=event_id, created_at=created_at, **data)


def _cancellation_accepted(event_id: str, created_at: datetime, data: dict[str, Any]) -> CancellationAccepted:
    return CancellationAccepted(event_id=event_id, created_at=created_at, **data)


def _cancellation_denied(event_id: str, created_at: datetime, data: dict[str, Any]) -> CancellationDenied:
    return CancellationDenied(event_id=event_id, created_at=created_at, **data)


# wire type -> (compiled payload validator, builder of the domain event from its output)
_PAYLOADS: dict[str, tuple[SchemaValidator, Callable[[str, datetime, Any], DomainEvent]]] = {
    WIRE_TYPES[EventType.ORDER]: (SchemaValidator(NEW_ORDER), _new_order),
    WIRE_TYPES[EventType.STATUS]: (SchemaValidator(STATUS_UPDATE), _status_update),
    WIRE_TYPES[EventType.ADDRESS]: (SchemaValidator(ADDRESS_UPDATE), _address_update),
    WIRE_TYPES[EventType.CANCELLATION_ACCEPTED]: (SchemaValidator(CANCELLATION_ACCEPTED), _cancellation_accepted),
    WIRE_TYPES[EventType.CANCELLATION_DENIED]: (SchemaValidator(CANCELLATION_DENIED), _cancellation_denied),
}
_INSTANT_VALIDATOR = SchemaValidator(INSTANT)


# --------------------------------------------------------------------------- answers


class _Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


class WireImportState(_Answer):
    type: StrictStr
    is_import_enabled: StrictBool
    created_after: StrictStr | None = None


class WireImportsAnswer(_Answer):
    """The 200 answer of `PUT /v2/seller/event-imports`: the state of every known type."""

    event_imports: list[WireImportState]


class WireAckAnswer(_Answer):
    """The 200 answer of `DELETE /v2/seller/event`."""

    acknowledged: StrictInt = Field(ge=0)


def _loads(body: bytes) -> Any:
    """One JSON decode (pydantic-core's parser: about a quarter faster than `json`).

    Only when that refuses the body does the standard library try (`content.lenient_loads`:
    a lone surrogate escape, deeper nesting, bytes that are not UTF-8). Raises ValueError
    when the body is not JSON at all.
    """
    try:
        return from_json(body)
    except ValueError:
        return lenient_loads(body)


def decode_page(body: bytes) -> list[Any]:
    """The `eventList` of a pull answer; ValueError when the body is not of that shape.

    The client treats that ValueError as a truncated answer and retries.
    """
    data = _loads(body)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object with eventList, got {_json_kind(data)}")
    items = data.get("eventList")
    if not isinstance(items, list):
        raise ValueError(f"eventList must be an array, got {_json_kind(items)}")
    return items


def decode_imports_answer(body: bytes) -> WireImportsAnswer:
    return WireImportsAnswer.model_validate(_loads(body))


def decode_ack_answer(body: bytes) -> int:
    return WireAckAnswer.model_validate(_loads(body)).acknowledged


def error_messages(body: bytes) -> str | None:
    """The server's `errorList` as one line, or None when the body has none (proxies)."""
    try:
        data = _loads(body)
    except ValueError:
        return None
    errors = data.get("errorList") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return None
    parts = []
    for entry in errors[:5]:
        if isinstance(entry, dict):
            text = ": ".join(str(entry[key]) for key in ("code", "message") if entry.get(key) not in (None, ""))
            if text:
                parts.append(_clip(text, 300))
    return "; ".join(parts) or None


def imports_body(entries: Sequence[tuple[EventType, datetime | None]]) -> dict[str, Any]:
    """The PUT body: each enabled type, with `createdAfter` only where a replay is asked."""
    imports: list[dict[str, str]] = []
    for kind, created_after in entries:
        row = {"type": WIRE_TYPES[kind]}
        if created_after is not None:
            row["createdAfter"] = format_instant(created_after)
        imports.append(row)
    return {"eventImports": imports}


# --------------------------------------------------------------------------- problems


def _json_kind(value: object) -> str:
    """Name a JSON value's kind the way the protocol page's readers think of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: object, limit: int = 40) -> str:
    return _clip(repr(value), limit)


_EXPECTED = {
    "string_type": "expected a string",
    "dataclass_type": "expected an object",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "tuple_type": "expected an array",
    "list_type": "expected an array",
}


def describe_validation_error(error: ValidationError, prefix: str = "event", limit: int = 3) -> str:
    """One readable line: `event.orderItem[0].quantity: expected a string, got a number`."""
    details = error.errors(include_url=False)
    # A list whose only entry failed is also reported as "too short"; that is noise.
    failed = {detail["loc"] for detail in details if detail["type"] != "too_short"}
    details = [
        detail
        for detail in details
        if detail["type"] != "too_short" or not any(loc[: len(detail["loc"])] == detail["loc"] for loc in failed)
    ]
    parts = []
    for detail in details[:limit]:
        path = prefix
        for step in detail["loc"]:
            path += f"[{step}]" if isinstance(step, int) else f".{step}"
        parts.append(f"{path}: {_explain(detail, path)}")
    if len(details) > limit:
        parts.append(f"and {len(details) - limit} more")
    return "; ".join(parts)


def _explain(detail: Any, path: str) -> str:
    kind, given, ctx = detail["type"], detail.get("input"), detail.get("ctx") or {}
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {_json_kind(given)}"
    if kind == "missing":
        return "required"
    if kind == "too_short" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "must not be empty" if ctx.get("min_length") == 1 else f"needs at least {ctx.get('min_length')} entries"
    if kind == "string_too_long":
        return f"longer than {ctx.get('max_length')} characters (got {len(given)})"
    if kind == "string_pattern_mismatch":
        return f"not of the expected form {_form(path)} (got {_short(given)})"
    if kind == "literal_error":
        return f"{detail['msg'].removeprefix('Input should be ')} expected, got {_short(given)}"
    if kind == "greater_than_equal" and ctx.get("ge") == 0:
        return f"must not be negative (got {_short(given)})"
    message = detail["msg"].removeprefix("Value error, ").removeprefix("Input should be a valid datetime or date, ")
    return message if isinstance(given, (dict, list)) else f"{message} (got {_short(given)})"


def _form(path: str) -> str:
    name = path.rsplit(".", 1)[-1]
    if name == "currency":
        return "(ISO 4217 code such as EUR)"
    if name == "country":
        return "(ISO 3166-1 alpha-2 code such as DE)"
    if name.endswith("At") or name.endswith("After"):
        return "(RFC 3339 timestamp with offset, such as 2026-11-20T08:15:02.120Z)"
    return '(decimal string such as "19.99")'


# --------------------------------------------------------------------------- entries


def synthetic_id(item: Any) -> str:
    """A stable id for an entry without a usable one: the same entry always gets the same id."""
    try:
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - decoded JSON always dumps
        canonical = repr(item)
    return SYNTHETIC_ID_PREFIX + hashlib.sha256(canonical.encode("ascii", "backslashreplace")).hexdigest()


def may_hold_nul(body: bytes) -> bool:
    """Whether a JSON body can decode to text with U+0000 (escaped, or raw for a lax parser)."""
    return b"\\u0000" in body or b"\x00" in body


def map_item(item: Any, *, check_nul: bool = True) -> tuple[Received, bool]:
    """One `eventList` entry as `Received`, and whether its id is the channel's (ackable).

    Never raises: whatever the entry is, it comes back with an event or a problem.
    An entry without a usable id gets a synthetic one and is not acknowledged; if its
    payload is valid it is still an event (the engine recognizes a repeat by content).
    """
    if not isinstance(item, dict):
        problem = f"event entry is not a JSON object (got {_json_kind(item)})"
        return Received(synthetic_id(item), "", None, item, problem=problem), False
    if check_nul and _has_nul(item):
        # No database text column can hold U+0000 (PostgreSQL refuses it): an entry with one
        # anywhere is kept as rejected, under storable names, so it never blocks the queue.
        raw_id = item.get("id")
        ackable = type(raw_id) is str and raw_id != ""
        event_id = raw_id.replace("\x00", "\ufffd") if ackable else synthetic_id(item)
        wire_type = item.get("type") if type(item.get("type")) is str else ""
        problem = "the event contains a NUL character (U+0000), which cannot be stored"
        return Received(event_id, wire_type.replace("\x00", "\ufffd"), None, item, problem=problem), ackable

    raw_id = item.get("id")
    ackable = type(raw_id) is str and raw_id != ""
    event_id: str = raw_id if ackable else synthetic_id(item)  # type: ignore[assignment]
    problems: list[str] = []

    wire_type = item.get("type")
    if type(wire_type) is not str or not wire_type:
        problems.append(f"type: expected an event type name, got {_short(wire_type) if wire_type == '' else _json_kind(wire_type)}")
        wire_type = ""

    created_at: datetime | None = None
    try:
        created_at = _INSTANT_VALIDATOR.validate_python(item.get("createdAt"))
    except ValidationError as exc:
        problems.append(describe_validation_error(exc, prefix="createdAt"))

    payload = _PAYLOADS.get(wire_type)
    if payload is None and wire_type:
        problem = f"unknown event type {_short(wire_type, 80)}"
        return Received(event_id, wire_type, created_at, item, problem=problem, unknown=True), ackable

    if payload is not None:
        validator, build = payload
        try:
            data = validator.validate_python(item.get("event"))
        except ValidationError as exc:
            problems.append(describe_validation_error(exc))
        else:
            if created_at is not None:
                return Received(event_id, wire_type, created_at, item, event=build(event_id, created_at, data)), ackable
    if not ackable:
        problems.append(f"id: no usable id (got {_short(raw_id) if isinstance(raw_id, str) else _json_kind(raw_id)})")
    return Received(event_id, wire_type, created_at, item, problem="; ".join(problems)), ackable


def _has_nul(value: Any) -> bool:
    """U+0000 anywhere in a decoded JSON value (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def map_page(
    items: Sequence[Any], *, check_nul: bool = True, screen: Screen | None = None
) -> tuple[tuple[Received, ...], tuple[str, ...]]:
    """Map every entry of a page, in order, repeats kept; plus the ids to acknowledge.

    The ack ids are the channel's own ids, each once. Entries under a synthetic id are
    never acknowledged: the channel does not know that id.

    Each well-formed entry gets its log text and content digest here. With `screen`,
    the digests are asked about first, and an entry the log already holds as settled
    comes back with `settled` instead of an event: a replay is recorded without its
    payload being validated again (its content is byte for byte the settled event's).
    """
    heads = [_head(item, check_nul) for item in items]
    settled: Mapping[str, Settled] = {}
    if screen is not None:
        digests = [head.digest for head in heads if head is not None]
        if digests:
            settled = screen(digests)
    received: list[Received] = []
    ack_ids: dict[str, None] = {}
    for item, head in zip(items, heads):
        if head is None:
            entry, ackable = map_item(item, check_nul=check_nul)
        else:
            original = settled.get(head.digest)
            if original is None:
                entry = _map_head(item, head)
            else:
                entry = Received(head.event_id, head.wire_type, head.created_at, item,
                                 text=head.text, digest=head.digest, settled=original)
            ackable = True
        received.append(entry)
        if ackable:  # the channel's id as sent: a stored id may have been made storable
            ack_ids[item["id"]] = None
    return tuple(received), tuple(ack_ids)


class _Head(NamedTuple):
    """What an entry is, before its payload is validated (a tuple: made for every entry of every page)."""

    event_id: str
    wire_type: str
    created_at: datetime
    text: str
    digest: str


def _head(item: Any, check_nul: bool) -> _Head | None:
    """The head of an entry with a channel id, a known type and a valid `createdAt`; else None.

    Anything else (and anything holding U+0000) is left to `map_item`, which says what
    is wrong with it.
    """
    if type(item) is not dict:
        return None
    event_id, wire_type = item.get("id"), item.get("type")
    if type(event_id) is not str or not event_id or type(wire_type) is not str or wire_type not in _PAYLOADS:
        return None
    created_at, instant = _created_at(item.get("createdAt"))
    if created_at is None:
        return None
    if check_nul and _has_nul(item):
        return None
    text = entry_text(item)
    return _Head(event_id, wire_type, created_at, text, content_digest(item, text, created_at, instant))


_WIRE_MILLIS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
"""The protocol's own form of an instant, to the millisecond in UTC, as channels send it."""


def _created_at(value: Any) -> tuple[datetime | None, str | None]:
    """`createdAt` as an instant, and its `instant_key` when the text gives it for free.

    The protocol's own form is read by the standard library, five times faster than the
    validator for what every entry of every page carries, and to the same instant (a
    hypothesis test holds the two together); anything else, and a text of that form that
    is no real instant, is the validator's to accept or refuse.
    """
    if type(value) is str and _WIRE_MILLIS.fullmatch(value):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            key = value[0:4] + value[5:7] + value[8:10] + value[11:13] + value[14:16] + value[17:19] + value[20:23] + "000"
            return at, key
    try:
        return _INSTANT_VALIDATOR.validate_python(value), None
    except ValidationError:
        return None, None


def _map_head(item: dict[str, Any], head: _Head) -> Received:
    validator, build = _PAYLOADS[head.wire_type]
    try:
        data = validator.validate_python(item.get("event"))
    except ValidationError:
        return map_item(item, check_nul=False)[0]  # it says what is wrong
    event = build(head.event_id, head.created_at, data)
    return Received(head.event_id, head.wire_type, head.created_at, item, event=event, text=head.text, digest=head.digest)


__all__ = [
    "EVENT_TYPES_BY_WIRE",
    "MAX_ACK_IDS",
    "MAX_PAGE",
    "SYNTHETIC_ID_PREFIX",
    "WIRE_TYPES",
    "WireAckAnswer",
    "WireImportState",
    "WireImportsAnswer",
    "decode_ack_answer",
    "decode_imports_answer",
    "decode_page",
    "describe_validation_error",
    "error_messages",
    "imports_body",
    "map_item",
    "map_page",
    "may_hold_nul",
    "synthetic_id",
]
