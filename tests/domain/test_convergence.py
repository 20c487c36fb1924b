"""The central property: any at-least-once, any-order delivery rebuilds the channel's truth.

A TRUE history comes from the independent model in `history.py`. An adversary delivers
it the way the Channel Event API allows: duplicates under the same and under new ids,
reordering across types, orders delayed behind their updates, events of types that were
not enabled yet, replays from any instant (with the order event of every order changed
since), batches of any size, and crashes after processing a batch but before its results
were stored. The test folds `inbox.process` (the engine's own batch code) over the
batches with a tiny in-memory store that keeps what the engine keeps (orders, parked
events, one outcome per event id) as JSON through the codec, and then demands the
exported orders equal the truth exactly and every event id has its outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from channelport.domain.codec import decode, decode_order, encode, encode_order
from channelport.domain.events import EVENT_TYPES, DomainEvent, EventType, NewOrder
from channelport.domain.export import order_export
from channelport.domain.inbox import InboxResult, InboxView, ParkedEvent, process
from channelport.domain.outcomes import Outcome

from .builders import SELLER
from .history import ACCOUNT, History, true_history

ALL = frozenset(EVENT_TYPES)
FOREIGN_SELLER = "S-OTHER"


@dataclass
class MemoryStore:
    """What the database keeps between batches, stored as JSON as the engine would."""

    orders: dict[str, str] = field(default_factory=dict)
    parked: dict[str, dict[str, str]] = field(default_factory=dict)  # order id -> event id -> event
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def view(self, events: list[DomainEvent]) -> InboxView:
        """Load what the engine loads for a batch: its orders, their parked events, its known ids."""
        order_ids = {event.order_id for event in events}
        return InboxView(
            orders={oid: decode_order(json.loads(self.orders[oid])) for oid in order_ids if oid in self.orders},
            parked={
                oid: [ParkedEvent(decode(json.loads(row))) for row in self.parked[oid].values()]
                for oid in order_ids
                if self.parked.get(oid)
            },
            seen={event.event_id: self.outcomes[event.event_id] for event in events if event.event_id in self.outcomes},
        )

    def persist(self, result: InboxResult) -> None:
        """Write a batch's result, checking the promises of `inbox` on the way."""
        rows_this_batch: set[str] = set()
        for entry in result.results:
            event_id = entry.event.event_id
            if not entry.record:
                assert entry.outcome is Outcome.DUPLICATE
                assert event_id in rows_this_batch or (self.outcomes.get(event_id, Outcome.IGNORED).final)
                continue
            assert event_id not in rows_this_batch, "one row per event id"
            assert self.outcomes.get(event_id) in (None, Outcome.IGNORED), "only an ignored row is overwritten"
            rows_this_batch.add(event_id)
            self.outcomes[event_id] = entry.outcome
            if entry.outcome is Outcome.PARKED:
                self.parked.setdefault(entry.event.order_id, {})[event_id] = json.dumps(encode(entry.event))
        for entry in result.resolved:
            hypothesis.event("resolved a parked event of an earlier batch")
            event_id, order_id = entry.event.event_id, entry.event.order_id
            assert self.outcomes[event_id] is Outcome.PARKED and event_id in self.parked[order_id]
            assert entry.outcome in (Outcome.APPLIED, Outcome.STALE, Outcome.DUPLICATE, Outcome.REJECTED)
            self.outcomes[event_id] = entry.outcome
            del self.parked[order_id][event_id]
        for order_id, state in result.orders.items():
            assert (order_id in result.created) == (order_id not in self.orders)
            self.orders[order_id] = json.dumps(encode_order(state))
        for order_id, rows in self.parked.items():
            assert not rows or order_id not in self.orders, f"events of {order_id} stay parked beside their order"

    def exports(self) -> dict[str, dict[str, Any]]:
        return {oid: order_export(ACCOUNT, decode_order(json.loads(row))) for oid, row in self.orders.items()}


# --- the adversary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    event: DomainEvent
    enabled: frozenset[EventType]


def _again(event: DomainEvent, new_id: str | None) -> DomainEvent:
    return event if new_id is None else replace(event, event_id=new_id)


def _foreign(event: DomainEvent, event_id: str) -> DomainEvent:
    if isinstance(event, NewOrder):
        return replace(
            event, event_id=event_id, seller_id=FOREIGN_SELLER, order=replace(event.order, seller_id=FOREIGN_SELLER)
        )
    return replace(event, event_id=event_id, seller_id=FOREIGN_SELLER)


def _replay(history: History, index: int, tag: str, *, new_ids: bool) -> list[DomainEvent]:
    """What `createdAfter` re-queues: every event at or after T, and the New of every order changed since."""
    since = history.events[index].created_at
    replayed = [event for event in history.events if event.created_at >= since]
    changed = {event.order_id for event in replayed}
    replayed += [
        event
        for event in history.events
        if isinstance(event, NewOrder) and event.order_id in changed and event.created_at < since
    ]
    replayed.sort(key=lambda event: event.created_at)
    return [_again(event, f"{event.event_id}-{tag}" if new_ids else None) for event in replayed]


def adversarial_delivery(data: st.DataObject, history: History) -> list[Delivery]:
    draw = data.draw
    stream = list(history.events)
    if not stream:
        return []

    def position(low: int = 0) -> int:
        return draw(st.integers(low, len(stream)))

    for n in range(draw(st.integers(0, 2), label="foreign events")):
        stream.insert(position(), _foreign(draw(st.sampled_from(history.events)), f"foreign-{n}"))
    for event in [event for event in stream if isinstance(event, NewOrder)]:
        if draw(st.booleans()):  # the order arrives behind its updates
            stream.remove(event)
            stream.insert(position(), event)
    for _ in range(draw(st.integers(0, len(stream)), label="swaps")):
        at = draw(st.integers(0, len(stream) - 2)) if len(stream) > 1 else 0
        stream[at : at + 2] = reversed(stream[at : at + 2])
    for n in range(draw(st.integers(0, 6), label="duplicates")):
        original = draw(st.integers(0, len(stream) - 1))
        copy = _again(stream[original], f"dup-{n}" if draw(st.booleans()) else None)
        stream.insert(position(original + 1), copy)
    for n in range(draw(st.integers(0, 3), label="late redeliveries")):  # re-queued long after: older after newer
        stream.append(_again(draw(st.sampled_from(history.events)), f"late-{n}" if draw(st.booleans()) else None))
    for n in range(draw(st.integers(0, 2), label="replays")):
        at = position()
        stream[at:at] = _replay(
            history, draw(st.integers(0, len(history.events) - 1)), f"r{n}", new_ids=draw(st.booleans())
        )

    disabled = frozenset(draw(st.sets(st.sampled_from(EVENT_TYPES)), label="disabled at first"))
    before = draw(st.integers(0, len(stream)), label="events before enabling") if disabled else 0
    deliveries = [Delivery(event, ALL - disabled) for event in stream[:before]]
    ignored = [event for event in stream[:before] if event.type in disabled]
    if ignored:  # the merchant enables the types and requests the data again from before them
        oldest = min(event.created_at for event in ignored)
        since = (
            next(i for i, event in enumerate(history.events) if event.created_at >= oldest)
            if draw(st.booleans())
            else 0
        )
        deliveries += [Delivery(event, ALL) for event in _replay(history, since, "enable", new_ids=draw(st.booleans()))]
    deliveries += [Delivery(event, ALL) for event in stream[before:]]
    return deliveries


def sync(data: st.DataObject, store: MemoryStore, deliveries: list[Delivery]) -> None:
    """Pull batches of any size; sometimes crash after processing, before the commit."""
    draw = data.draw
    crashes = 0
    start = 0
    while start < len(deliveries):
        end = min(len(deliveries), start + draw(st.integers(1, 8), label="batch size"))
        enabled = deliveries[start].enabled
        while end > start + 1 and deliveries[end - 1].enabled != enabled:
            end -= 1
        events = [delivery.event for delivery in deliveries[start:end]]
        result = process(store.view(events), events, seller_id=SELLER, enabled=enabled)
        assert [entry.event for entry in result.results] == events
        if crashes < 4 and draw(st.integers(0, 9), label="crash") == 0:
            crashes += 1  # nothing stored, nothing acknowledged: the same events come again
            continue
        store.persist(result)
        start = end


@pytest.mark.timeout(900)  # a failure shrinks for minutes; let it finish and print the small case
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_any_delivery_rebuilds_the_true_orders(data):
    history = true_history(data)
    deliveries = adversarial_delivery(data, history)
    note("true history:\n" + "\n".join(map(repr, history.events)))
    note(
        "delivered:\n" + "\n".join(f"{d.event.event_id} {d.event.type} enabled={sorted(d.enabled)}" for d in deliveries)
    )
    store = MemoryStore()
    sync(data, store, deliveries)

    exports = store.exports()
    assert exports.keys() == history.truth.keys()
    for order_id, truth in history.truth.items():
        assert exports[order_id] == truth, order_id
    assert not any(store.parked.values()), "nothing stays parked once every order arrived"
    delivered = {delivery.event.event_id: delivery.event for delivery in deliveries}
    assert set(store.outcomes) == set(delivered), "every event id ends with a recorded outcome"
    for event_id, delivered_event in delivered.items():
        outcome = store.outcomes[event_id]
        hypothesis.event(f"an event ended {outcome}")
        if delivered_event.seller_id == FOREIGN_SELLER:
            assert outcome in (Outcome.REJECTED, Outcome.IGNORED)  # a disabled type is not even looked at
        else:
            assert outcome not in (Outcome.REJECTED, Outcome.PARKED, Outcome.UNKNOWN), (event_id, outcome)
