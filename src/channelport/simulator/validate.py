"""Request shapes of the protocol page, checked strictly.

"A request that does not fit this page ... is answered 400 ... and changes nothing", so
every check here runs before anything is touched, and says precisely what was wrong.
Unknown keys are refused too: the reference server should catch a client that sends
something the page does not define, not quietly ignore it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from channelport.simulator.wire import (
    CANCEL_REASONS,
    KNOWN_TYPES,
    ProtocolError,
    parse_timestamp_us,
)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_ACK_IDS = 100


def _object(value: Any, where: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} must be a JSON object")
    unknown = set(value) - allowed
    if unknown:
        raise ProtocolError(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
    missing = required - set(value)
    if missing:
        raise ProtocolError(f"{where} lacks required field(s): {', '.join(sorted(missing))}")
    return value


def event_imports(body: Any) -> list[tuple[str, int | None]]:
    """`{"eventImports": [{"type", "createdAfter"?}]}` -> [(type, createdAfter in µs or None)]."""
    body = _object(body, "body", {"eventImports"}, {"eventImports"})
    items = body["eventImports"]
    if not isinstance(items, list):
        raise ProtocolError("eventImports must be a list")
    out: list[tuple[str, int | None]] = []
    for position, item in enumerate(items):
        item = _object(item, f"eventImports[{position}]", {"type", "createdAfter"}, {"type"})
        type_ = item["type"]
        if not isinstance(type_, str):
            raise ProtocolError(f"eventImports[{position}].type must be a string")
        if type_ not in KNOWN_TYPES:
            raise ProtocolError(f"unknown event type {type_!r}", "UNKNOWN_EVENT_TYPE")
        since = item.get("createdAfter")
        if since is None:
            out.append((type_, None))
            continue
        try:
            out.append((type_, parse_timestamp_us(since)))
        except ValueError as exc:
            raise ProtocolError(f"eventImports[{position}].createdAfter: {exc}", "INVALID_TIMESTAMP") from None
    return out


def limit(values: list[str]) -> int:
    if not values:
        return DEFAULT_LIMIT
    if len(values) > 1:
        raise ProtocolError("limit given more than once")
    text = values[0]
    if not text.isascii() or not text.isdigit():
        raise ProtocolError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {text!r}")
    number = int(text)
    if not 1 <= number <= MAX_LIMIT:
        raise ProtocolError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {number}")
    return number


def type_filter(values: list[str]) -> list[str] | None:
    """`eventTypeFilter=T1,T2` -> [T1, T2]; every name must be a type of the page."""
    if not values:
        return None
    if len(values) > 1:
        raise ProtocolError("eventTypeFilter given more than once")
    names = [name.strip() for name in values[0].split(",")]
    for name in names:
        if name not in KNOWN_TYPES:
            raise ProtocolError(f"eventTypeFilter: unknown event type {name!r}", "UNKNOWN_EVENT_TYPE")
    return names


def ack_ids(body: Any) -> list[str]:
    body = _object(body, "body", {"eventIdList"}, {"eventIdList"})
    ids = body["eventIdList"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_ACK_IDS:
        raise ProtocolError(f"eventIdList must be a list of 1 to {MAX_ACK_IDS} ids")
    if not all(isinstance(i, str) and i for i in ids):
        raise ProtocolError("eventIdList must hold non-empty strings")
    return ids


@dataclass(frozen=True)
class CancellationBody:
    order_id: str
    request_id: str
    items: tuple[tuple[str, Decimal], ...] | None
    cancel_reason: str
    message: str | None


def _positive_decimal(value: Any, where: str) -> Decimal:
    if not isinstance(value, str):
        raise ProtocolError(f"{where} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ProtocolError(f"{where} is not a decimal: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ProtocolError(f"{where} must be a positive decimal, got {value!r}")
    return number


def cancellation(body: Any) -> CancellationBody:
    body = _object(
        body,
        "body",
        {"orderId", "orderCancellationRequestId", "orderItem", "cancelReason", "message"},
        {"orderId", "orderCancellationRequestId", "cancelReason"},
    )
    order_id = body["orderId"]
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 150:
        raise ProtocolError("orderId must be a string of 1 to 150 characters")
    request_id = body["orderCancellationRequestId"]
    try:
        if not isinstance(request_id, str):
            raise ValueError
        uuid.UUID(request_id)
    except ValueError:
        raise ProtocolError("orderCancellationRequestId must be a UUID string") from None
    reason = body["cancelReason"]
    if reason not in CANCEL_REASONS:
        raise ProtocolError(f"cancelReason must be one of {', '.join(sorted(CANCEL_REASONS))}")
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise ProtocolError("message must be a string")
    items: tuple[tuple[str, Decimal], ...] | None = None
    if "orderItem" in body and body["orderItem"] is not None:
        raw = body["orderItem"]
        if not isinstance(raw, list) or not raw:
            raise ProtocolError("orderItem must be a non-empty list")
        parsed = []
        for position, item in enumerate(raw):
            item = _object(item, f"orderItem[{position}]", {"orderItemId", "quantity"}, {"orderItemId", "quantity"})
            if not isinstance(item["orderItemId"], str) or not item["orderItemId"]:
                raise ProtocolError(f"orderItem[{position}].orderItemId must be a non-empty string")
            parsed.append((item["orderItemId"], _positive_decimal(item["quantity"], f"orderItem[{position}].quantity")))
        items = tuple(parsed)
    return CancellationBody(order_id, request_id, items, reason, message)
