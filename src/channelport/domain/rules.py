"""The rules that apply one normalized event to one order (docs/order-semantics.md).

`apply` is a pure function: it returns a `Decision` (outcome, new state, changes) and
the caller records it. Events arrive at least once and in any order, so every rule is
written to give the same final order whatever the delivery order:

- every field a change can set (order status, each item's status and payment status,
  billing address, shipping address, buyer) keeps the `createdAt` of its last applied
  change, and an older change is stale for it: a last-writer-wins register per field;
- a cancellation answer counts once per request id and adds capped quantities, which
  commute, so it is never stale;
- an event for an order that is not there yet is parked, never dropped.

The sync engine applies thousands of events a second, so states are changed with
`dataclasses.replace` on frozen slots dataclasses, sharing every unchanged line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelport.domain.events import (
    AddressUpdate,
    CancellationAccepted,
    CancellationDenied,
    DomainEvent,
    ItemStatusChange,
    NewOrder,
    StatusUpdate,
)
from channelport.domain.export import address_json, buyer_json, cancellation_json
from channelport.domain.instants import format_instant
from channelport.domain.money import decimal_text
from channelport.domain.order import CancellationState, LineState, OrderState, Part
from channelport.domain.outcomes import Change, Decision, Outcome

ACCEPTED = "ACCEPTED"
DENIED = "DENIED"

# An address update's parts: (part, attribute on both AddressUpdate and OrderState,
# OrderState version attribute, JSON spelling for the history).
_ADDRESS_PARTS: tuple[tuple[Part, str, str, Callable[[Any], Any]], ...] = (
    (Part.BILLING_ADDRESS, "billing_address", "billing_at", address_json),
    (Part.SHIPPING_ADDRESS, "shipping_address", "shipping_at", address_json),
    (Part.BUYER, "buyer", "buyer_at", buyer_json),
)


def apply(order: OrderState | None, event: DomainEvent, *, seller_id: str) -> Decision:
    """Apply `event` to `order` (None: not imported yet) for the account of `seller_id`."""
    if _is_other_seller(event, seller_id):
        return Decision(
            Outcome.REJECTED, order, reason=f"sellerId {event.seller_id!r} is not this account's seller {seller_id!r}"
        )
    if isinstance(event, NewOrder):
        return _apply_new(order, event)
    if order is None:
        return Decision(Outcome.PARKED, None, reason="order not imported yet")
    if isinstance(event, StatusUpdate):
        return _apply_status(order, event)
    if isinstance(event, AddressUpdate):
        return _apply_address(order, event)
    if isinstance(event, CancellationAccepted):
        return _apply_accepted(order, event)
    if isinstance(event, CancellationDenied):
        return _apply_denied(order, event)
    raise TypeError(f"not a domain event: {type(event).__name__}")


# --- the questions the rules ask -------------------------------------------------------


def _is_other_seller(event: DomainEvent, seller_id: str) -> bool:
    if isinstance(event, NewOrder) and event.order.seller_id != seller_id:
        return True
    return event.seller_id != seller_id


def _is_older(at: datetime, version: datetime) -> bool:
    return at < version


def _is_same_instant(at: datetime, version: datetime) -> bool:
    return at == version


def _versioned_outcome(at: datetime, version: datetime, *, changes_nothing: bool) -> Outcome | None:
    """Stale or duplicate per the field's version; None when the change is to be applied.

    Distinct changes of one order have distinct instants, so a change at exactly the
    version is the applied change delivered again (a duplicate) unless it differs, and
    then it cannot be trusted over the one applied (stale).
    """
    if _is_older(at, version):
        return Outcome.STALE
    if _is_same_instant(at, version):
        return Outcome.DUPLICATE if changes_nothing else Outcome.STALE
    return None


def _known_request(order: OrderState, request_id: str) -> CancellationState | None:
    for request in order.cancellations:
        if request.request_id == request_id:
            return request
    return None


def _position(order: OrderState, order_item_id: str) -> int | None:
    for index, line in enumerate(order.lines):
        if line.line.order_item_id == order_item_id:
            return index
    return None


def _unknown_items(order: OrderState, item_ids: list[str]) -> list[str]:
    return [item_id for item_id in item_ids if _position(order, item_id) is None]


def _is_fully_cancelled(lines: tuple[LineState, ...]) -> bool:
    return bool(lines) and all(line.fully_cancelled for line in lines)


# --- New ----------------------------------------------------------------------------------


def _apply_new(order: OrderState | None, event: NewOrder) -> Decision:
    if order is not None:
        return Decision(Outcome.DUPLICATE, order, reason="order already imported")
    if event.order.order_id != event.order_id:
        return Decision(
            Outcome.REJECTED, None, reason=f"payload orderId {event.order.order_id!r} differs from {event.order_id!r}"
        )
    created = created_order(event)
    return Decision(Outcome.APPLIED, created, (Change("order", None, created.shown_status),))


def created_order(event: NewOrder) -> OrderState:
    """The order as its New event creates it: nothing cancelled, every version at `createdAt`."""
    snapshot = event.order
    at = event.created_at
    return OrderState(
        order_id=snapshot.order_id,
        seller_id=snapshot.seller_id,
        status=snapshot.order_status,
        purchased_at=snapshot.purchased_at,
        last_changed_at=max(snapshot.last_changed_at, at),
        currency=snapshot.currency,
        lines=tuple(
            LineState(
                line=line,
                item_status=line.item_status,
                payment_status=line.item_payment_status,
                status_at=at,
                payment_at=at,
            )
            for line in snapshot.lines
        ),
        status_at=at,
        billing_at=at,
        shipping_at=at,
        buyer_at=at,
        payment_method=snapshot.payment_method,
        buyer=snapshot.buyer,
        billing_address=snapshot.billing_address,
        shipping_address=snapshot.shipping_address,
    )


# --- StatusUpdate -------------------------------------------------------------------------


def _apply_status(order: OrderState, event: StatusUpdate) -> Decision:
    """The order status and every given item field, each on its own version."""
    unknown = _unknown_items(order, [item.order_item_id for item in event.items])
    if unknown:
        return Decision(Outcome.REJECTED, order, reason=f"unknown orderItemId {', '.join(map(repr, unknown))}")
    at = event.created_at
    fields = _FieldVerdicts()
    updates: dict[str, Any] = {}
    if fields.judge("orderStatus", at, order.status_at, event.order_status == order.status):
        updates.update(status=event.order_status, status_at=at)
    lines = list(order.lines)
    for item in event.items:
        index = _position(order, item.order_item_id)
        assert index is not None  # checked above
        lines[index] = _with_item_fields(lines[index], item, at, fields, fallback=order.status_at)
    if not fields.any_applied:
        return Decision(fields.outcome, order, reason=fields.reason)
    updated = replace(order, lines=tuple(lines), last_changed_at=max(order.last_changed_at, at), **updates)
    return Decision(Outcome.APPLIED, updated, _status_changes(order, updated), fields.reason)


def _with_item_fields(
    line: LineState, item: ItemStatusChange, at: datetime, fields: _FieldVerdicts, *, fallback: datetime
) -> LineState:
    """The line with each given field set where not stale; the same object when none is.

    A line without versions (built outside the rules) takes the order status version,
    the newest any item field can have: never newer than the truth, at worst stale.
    """
    updates: dict[str, Any] = {}
    name = f"item {item.order_item_id}"
    if item.item_status is not None and fields.judge(
        f"{name} itemStatus", at, _or(line.status_at, fallback), item.item_status == line.item_status
    ):
        updates.update(item_status=item.item_status, status_at=at)
    if item.payment_status is not None and fields.judge(
        f"{name} paymentStatus", at, _or(line.payment_at, fallback), item.payment_status == line.payment_status
    ):
        updates.update(payment_status=item.payment_status, payment_at=at)
    return replace(line, **updates) if updates else line


def _or(version: datetime | None, fallback: datetime) -> datetime:
    return fallback if version is None else version


# --- AddressUpdate ------------------------------------------------------------------------


def _apply_address(order: OrderState, event: AddressUpdate) -> Decision:
    """Each present part on its own version; absent parts are untouched."""
    at = event.created_at
    fields = _FieldVerdicts()
    updates: dict[str, Any] = {}
    changes: list[Change] = []
    for part, attr, version_attr, as_json in _ADDRESS_PARTS:
        new_value = getattr(event, attr)
        if new_value is None:
            continue
        old_value = getattr(order, attr)
        if fields.judge(str(part), at, getattr(order, version_attr), new_value == old_value):
            updates.update({attr: new_value, version_attr: at})
            if new_value != old_value:
                changes.append(Change(str(part), as_json(old_value), as_json(new_value)))
    if not fields.any_applied:
        return Decision(fields.outcome, order, reason=fields.reason or "no address part present")
    updated = replace(order, last_changed_at=max(order.last_changed_at, at), **updates)
    return Decision(Outcome.APPLIED, updated, tuple(changes), fields.reason)


class _FieldVerdicts:
    """Collects the verdict on each field an event carries, and sums them up.

    The event is applied if it changed or moved one field, a duplicate if every field
    it carries was a duplicate (vacuously so when it carries none), stale otherwise.
    """

    __slots__ = ("any_applied", "all_duplicates", "skipped")

    def __init__(self) -> None:
        self.any_applied = False
        self.all_duplicates = True
        self.skipped: list[str] = []

    def judge(self, name: str, at: datetime, version: datetime, same_value: bool) -> bool:
        """True when the field is to be set (and its version moved to `at`)."""
        verdict = _versioned_outcome(at, version, changes_nothing=same_value)
        if verdict is None:
            self.any_applied = True
            self.all_duplicates = False
            return True
        if verdict is not Outcome.DUPLICATE:
            self.all_duplicates = False
        self.skipped.append(f"{name} {verdict} (version {format_instant(version)})")
        return False

    @property
    def outcome(self) -> Outcome:
        if self.any_applied:
            return Outcome.APPLIED
        return Outcome.DUPLICATE if self.all_duplicates else Outcome.STALE

    @property
    def reason(self) -> str | None:
        return "; ".join(self.skipped) or None


# --- CancellationAccepted / CancellationDenied --------------------------------------------


def _answered_before(order: OrderState, request_id: str, state: str) -> Decision | None:
    """A request id counts once: the same answer again is a duplicate, the other a conflict."""
    known = _known_request(order, request_id)
    if known is None:
        return None
    if known.state == state:
        return Decision(Outcome.DUPLICATE, order, reason=f"request {request_id!r} already {state}")
    return Decision(
        Outcome.REJECTED, order, reason=f"conflicting answer: request {request_id!r} was already {known.state}"
    )


def _apply_accepted(order: OrderState, event: CancellationAccepted) -> Decision:
    answered = _answered_before(order, event.request_id, ACCEPTED)
    if answered is not None:
        return answered
    if event.lines is None:
        lines = tuple(_cancel_all(line) for line in order.lines)
    else:
        unknown = _unknown_items(order, [line.order_item_id for line in event.lines])
        if unknown:
            return Decision(Outcome.REJECTED, order, reason=f"unknown orderItemId {', '.join(map(repr, unknown))}")
        negative = [line.order_item_id for line in event.lines if line.quantity < 0]
        if negative:
            return Decision(Outcome.REJECTED, order, reason=f"negative quantity for {', '.join(map(repr, negative))}")
        cancelled = list(order.lines)
        for named in event.lines:
            index = _position(order, named.order_item_id)
            assert index is not None  # checked above
            cancelled[index] = _cancel_some(cancelled[index], named.quantity)
        lines = tuple(cancelled)
    request = CancellationState(
        request_id=event.request_id, state=ACCEPTED, created_at=event.created_at, cancel_reason=event.cancel_reason
    )
    cancellations = (*order.cancellations, request)
    updated = replace(
        order,
        lines=lines,
        cancellations=cancellations,
        status_at=_status_version_after_cancellation(order.status_at, lines, cancellations),
        last_changed_at=max(order.last_changed_at, event.created_at),
    )
    recorded = Change(f"cancellation:{event.request_id}", None, cancellation_json(request))
    changes = (*_status_changes(order, updated), recorded)
    return Decision(Outcome.APPLIED, updated, changes)


def _cancel_all(line: LineState) -> LineState:
    if line.cancelled_quantity == line.line.quantity:
        return line
    return replace(line, cancelled_quantity=line.line.quantity)


def _cancel_some(line: LineState, quantity: Decimal) -> LineState:
    """Grow the cancelled quantity by `quantity`, never beyond the item's quantity."""
    if quantity == 0 or line.fully_cancelled:
        return line
    return replace(line, cancelled_quantity=min(line.cancelled_quantity + quantity, line.line.quantity))


def _status_version_after_cancellation(
    version: datetime, lines: tuple[LineState, ...], cancellations: tuple[CancellationState, ...]
) -> datetime:
    """A fully cancelled order changed its order status at its latest accepted cancellation.

    The doc says "at the event's createdAt". Taking the latest of every accepted request
    instead is the same instant when answers come in `createdAt` order (the answer that
    completes the cancellation is then the latest one), and keeps the status version
    independent of the order in which partial cancellations were delivered.
    """
    if not _is_fully_cancelled(lines):
        return version
    latest = max(request.created_at for request in cancellations if request.state == ACCEPTED)
    return max(version, latest)


def _apply_denied(order: OrderState, event: CancellationDenied) -> Decision:
    answered = _answered_before(order, event.request_id, DENIED)
    if answered is not None:
        return answered
    request = CancellationState(
        request_id=event.request_id, state=DENIED, created_at=event.created_at, reason=event.reason
    )
    updated = replace(
        order,
        cancellations=(*order.cancellations, request),
        last_changed_at=max(order.last_changed_at, event.created_at),
    )
    return Decision(
        Outcome.APPLIED, updated, (Change(f"cancellation:{event.request_id}", None, cancellation_json(request)),)
    )


# --- history ------------------------------------------------------------------------------


def _status_changes(before: OrderState, after: OrderState) -> tuple[Change, ...]:
    """What the merchant sees change: the shown order status and each changed item."""
    changes: list[Change] = []
    if before.shown_status != after.shown_status:
        changes.append(Change("status", before.shown_status, after.shown_status))
    for old, new in zip(before.lines, after.lines, strict=True):
        if old is new:
            continue
        was, now = _item_view(old), _item_view(new)
        differing = [key for key in was if was[key] != now[key]]
        if differing:
            changes.append(
                Change(
                    f"item:{old.line.order_item_id}",
                    {key: was[key] for key in differing},
                    {key: now[key] for key in differing},
                )
            )
    return tuple(changes)


def _item_view(line: LineState) -> dict[str, str]:
    return {
        "itemStatus": line.shown_status,
        "itemPaymentStatus": line.payment_status,
        "cancelledQuantity": decimal_text(line.cancelled_quantity),
    }


__all__ = ["apply", "created_order"]
