"""Polling channels: turn an order snapshot into the five event types.

A polling channel (Amazon SP-API, WooCommerce) has no event queue; it lists orders
"updated since T", each with its CURRENT state. `expand` compares such a snapshot with
the stored order and returns the events that bring the stored order to it, so that the
ordinary rules (docs/order-semantics.md) apply them with the same per-field versions,
and a snapshot read twice has no second effect:

- every derived event is stamped with the snapshot's `created_at` (the channel's
  last-update instant), which versions the fields it sets;
- every derived event id is the snapshot's id plus a fixed suffix, so a page fetched
  again after a crash is recognised by id like a redelivered queue event;
- nothing is derived when nothing differs, so re-reading the overlap window is free.

Only what an event can express is compared: the order and item statuses, item payment
statuses, the three address parts, and cancellation answers. Prices and lines are fixed
by the order's creation, as for queue channels. A part the snapshot does not carry
(None: the channel did not expose it at this status) is never taken for a removal.
"""

from __future__ import annotations

from collections.abc import Iterable

from channelport.domain.events import (
    AddressUpdate,
    CancellationAccepted,
    CancellationDenied,
    DomainEvent,
    ItemStatusChange,
    NewOrder,
    OrderSeen,
    SeenCancellation,
    StatusUpdate,
)
from channelport.domain.order import OrderState

ACCEPTED = "ACCEPTED"
DENIED = "DENIED"
DEFAULT_CANCEL_REASON = "OTHER"

# The suffixes of derived event ids: part of the stored data, never to be changed.
NEW_SUFFIX = "#order"
STATUS_SUFFIX = "#status"
ADDRESS_SUFFIX = "#address"
CANCELLATION_SUFFIX = "#cancellation:"


def expand(stored: OrderState | None, seen: OrderSeen) -> list[DomainEvent]:
    """The events that take `stored` (None: not imported yet) to the snapshot `seen`.

    Order: the New event (or the status and address changes), then the cancellation
    answers. A status change before a cancellation at the same instant keeps both:
    the other way round, the cancellation would move the order status version to that
    instant first and the status change would be stale for the order status.
    """
    if stored is None:
        return [_new_order(seen), *_answers(seen, seen.cancellations)]
    events: list[DomainEvent] = []
    status = _status_update(stored, seen)
    if status is not None:
        events.append(status)
    address = _address_update(stored, seen)
    if address is not None:
        events.append(address)
    events.extend(_answers(seen, (c for c in seen.cancellations if not _is_answer_stored(stored, c))))
    return events


# --- the questions expand asks --------------------------------------------------------


def _is_answer_stored(stored: OrderState, answer: SeenCancellation) -> bool:
    """A request id counts once, whatever the answer: a conflicting one is for the rules
    to reject, but only if it is new; a stored request is never derived again."""
    return any(request.request_id == answer.request_id for request in stored.cancellations)


def _item_change(
    stored_status: str, stored_payment: str, item_id: str, status: str, payment: str
) -> ItemStatusChange | None:
    status_differs = status != stored_status
    payment_differs = payment != stored_payment
    if not (status_differs or payment_differs):
        return None
    return ItemStatusChange(
        order_item_id=item_id,
        item_status=status if status_differs else None,
        payment_status=payment if payment_differs else None,
    )


# --- the derived events ------------------------------------------------------------------


def _new_order(seen: OrderSeen) -> NewOrder:
    return NewOrder(
        event_id=seen.event_id + NEW_SUFFIX,
        created_at=seen.created_at,
        seller_id=seen.seller_id,
        order_id=seen.order_id,
        order=seen.order,
    )


def _status_update(stored: OrderState, seen: OrderSeen) -> StatusUpdate | None:
    """The order status and the items whose status or payment status differ.

    Compared with the stored values a status update sets (not the shown ones: a fully
    cancelled item shows CANCELED_BY_SELLER whatever its stored status is). Items the
    stored order does not have are left out: a status update naming an unknown item is
    rejected whole, and lines are fixed when the order is created.
    """
    snapshot = seen.order
    stored_lines = {line.line.order_item_id: line for line in stored.lines}
    items: list[ItemStatusChange] = []
    for line in snapshot.lines:
        known = stored_lines.get(line.order_item_id)
        if known is None:
            continue
        change = _item_change(
            known.item_status, known.payment_status, line.order_item_id, line.item_status, line.item_payment_status
        )
        if change is not None:
            items.append(change)
    if snapshot.order_status == stored.status and not items:
        return None
    return StatusUpdate(
        event_id=seen.event_id + STATUS_SUFFIX,
        created_at=seen.created_at,
        seller_id=seen.seller_id,
        order_id=seen.order_id,
        order_status=snapshot.order_status,
        items=tuple(items),
    )


def _address_update(stored: OrderState, seen: OrderSeen) -> AddressUpdate | None:
    """Only the parts the snapshot carries and that differ from the stored ones."""
    snapshot = seen.order
    billing = snapshot.billing_address if snapshot.billing_address not in (None, stored.billing_address) else None
    shipping = snapshot.shipping_address if snapshot.shipping_address not in (None, stored.shipping_address) else None
    buyer = snapshot.buyer if snapshot.buyer not in (None, stored.buyer) else None
    if billing is None and shipping is None and buyer is None:
        return None
    return AddressUpdate(
        event_id=seen.event_id + ADDRESS_SUFFIX,
        created_at=seen.created_at,
        seller_id=seen.seller_id,
        order_id=seen.order_id,
        billing_address=billing,
        shipping_address=shipping,
        buyer=buyer,
    )


def _answers(seen: OrderSeen, answers: Iterable[SeenCancellation]) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    for answer in answers:
        event_id = f"{seen.event_id}{CANCELLATION_SUFFIX}{answer.request_id}"
        if answer.state == ACCEPTED:
            events.append(
                CancellationAccepted(
                    event_id=event_id,
                    created_at=seen.created_at,
                    seller_id=seen.seller_id,
                    order_id=seen.order_id,
                    request_id=answer.request_id,
                    cancel_reason=answer.cancel_reason or DEFAULT_CANCEL_REASON,
                    lines=answer.lines,
                )
            )
        elif answer.state == DENIED:
            events.append(
                CancellationDenied(
                    event_id=event_id,
                    created_at=seen.created_at,
                    seller_id=seen.seller_id,
                    order_id=seen.order_id,
                    request_id=answer.request_id,
                    reason=answer.reason,
                )
            )
        # Any other state (an open request) is not an answer: nothing to derive yet.
    return events


__all__ = ["expand"]
