"""One batch of received events, decided as a pure function of what the store holds.

The sync engine loads an `InboxView` for a batch (the orders it touches, the events
parked for them, the outcomes already recorded for its event ids), calls `process`, and
writes the `InboxResult` in the same transaction as the connector state. Keeping the
whole batch policy here, without I/O, lets the property tests run exactly the code that
runs in production against adversarial deliveries.

What the engine writes, so that every event id ends with exactly one row holding its
final outcome and nothing is ever dropped:

- `results` has one entry per delivered event, in delivery order. Where `record` is
  True the entry is the row of its event id: insert it, or overwrite the row if that id
  was recorded `ignored` before. Where `record` is False (the id was already recorded
  with a final outcome, or came earlier in this batch) the id already has its row:
  write nothing for it (count it as a duplicate delivery if you like).
- An event parked and then resolved *in this same batch* (its order's New came later in
  the batch) is reported once, in `results`, with its final outcome (applied, stale,
  duplicate or rejected), not as parked and not in `resolved`: store no parked row.
- An entry of `results` with outcome `parked` is to be stored as a parked row
  (`codec.encode(event)`, by order id) and loaded into `InboxView.parked` later.
- `resolved` lists events parked by an earlier batch (from `InboxView.parked`) that are
  applied now: update their rows to the outcome given and delete their parked rows.
- `orders` holds the final state of every order created or changed; `created` names
  the new ones. Each result's `changes` are the order history entries to append.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from channelport.domain.events import DomainEvent, EventType, NewOrder
from channelport.domain.order import OrderState
from channelport.domain.outcomes import Change, Decision, Outcome
from channelport.domain.rules import apply


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    """An event stored because its order was not there yet; `event.event_id` names its row."""

    event: DomainEvent


@dataclass(slots=True)
class InboxView:
    """What the engine loaded from the database for one batch."""

    orders: dict[str, OrderState] = field(default_factory=dict)  # existing orders the batch touches
    parked: dict[str, list[ParkedEvent]] = field(default_factory=dict)  # stored parked events by order id
    seen: dict[str, Outcome] = field(default_factory=dict)  # this batch's event ids already recorded


@dataclass(frozen=True, slots=True)
class EventResult:
    """The final outcome of one event; `record` says whether it is the row of its event id."""

    event: DomainEvent
    outcome: Outcome
    reason: str | None = None
    changes: tuple[Change, ...] = ()
    record: bool = True


@dataclass(slots=True)
class InboxResult:
    results: list[EventResult]  # one per input event, same order
    resolved: list[EventResult]  # events parked by earlier batches, applied now
    orders: dict[str, OrderState]  # every order created or changed by this batch, final state
    created: set[str]  # order ids created in this batch


def process(
    view: InboxView, events: Sequence[DomainEvent], *, seller_id: str, enabled: frozenset[EventType]
) -> InboxResult:
    """Decide one batch: dedupe by event id, skip disabled types, apply, park and unpark."""
    run = _BatchRun(view, seller_id)
    run.settle_stored_parked()
    for event in events:
        run.receive(event, enabled)
    return run.result()


def _is_recorded_final(view: InboxView, event_id: str) -> bool:
    outcome = view.seen.get(event_id)
    return outcome is not None and outcome.final


class _BatchRun:
    """The working state of one `process` call; nothing in the view is mutated."""

    def __init__(self, view: InboxView, seller_id: str) -> None:
        self.view = view
        self.seller_id = seller_id
        self.orders = dict(view.orders)
        self.stored_parked = {order_id: list(parked) for order_id, parked in view.parked.items() if parked}
        self.batch_parked: dict[str, list[int]] = {}  # order id -> positions in results
        self.ids_in_batch: set[str] = set()
        self.results: list[EventResult] = []
        self.resolved: list[EventResult] = []
        self.touched: set[str] = set()
        self.created: set[str] = set()

    def settle_stored_parked(self) -> None:
        """Parked rows whose order already exists are applied now (a store that was behind)."""
        for order_id in [order_id for order_id in self.stored_parked if order_id in self.orders]:
            self._unpark(order_id)

    def receive(self, event: DomainEvent, enabled: frozenset[EventType]) -> None:
        event_id = event.event_id
        if _is_recorded_final(self.view, event_id):
            recorded = self.view.seen[event_id]
            self._report(event, Outcome.DUPLICATE, f"event id already recorded as {recorded}", record=False)
            return
        if event_id in self.ids_in_batch:
            self._report(event, Outcome.DUPLICATE, "event id repeated in this batch", record=False)
            return
        self.ids_in_batch.add(event_id)
        if event.type not in enabled:
            self._report(event, Outcome.IGNORED, f"event type {event.type} is not enabled")
            return
        decision = apply(self.orders.get(event.order_id), event, seller_id=self.seller_id)
        if decision.outcome is Outcome.PARKED:
            self.batch_parked.setdefault(event.order_id, []).append(len(self.results))
        self.results.append(_result(event, decision))
        if decision.outcome is Outcome.APPLIED:
            self._store(event.order_id, decision)
            if isinstance(event, NewOrder):
                self.created.add(event.order_id)
                self._unpark(event.order_id)

    def result(self) -> InboxResult:
        return InboxResult(
            results=self.results,
            resolved=self.resolved,
            orders={order_id: self.orders[order_id] for order_id in self.touched},
            created=self.created,
        )

    def _report(self, event: DomainEvent, outcome: Outcome, reason: str, *, record: bool = True) -> None:
        self.results.append(EventResult(event, outcome, reason, record=record))

    def _store(self, order_id: str, decision: Decision) -> None:
        assert decision.order is not None
        self.orders[order_id] = decision.order
        self.touched.add(order_id)

    def _unpark(self, order_id: str) -> None:
        """Apply every event parked for the order, stored and in this batch, by `createdAt`."""
        pending: list[tuple[DomainEvent, int | None]] = [
            (parked.event, None) for parked in self.stored_parked.pop(order_id, [])
        ]
        pending += [(self.results[index].event, index) for index in self.batch_parked.pop(order_id, [])]
        pending.sort(key=lambda item: item[0].created_at)  # stable: ties keep stored-then-arrival order
        for event, index in pending:
            decision = apply(self.orders[order_id], event, seller_id=self.seller_id)
            assert decision.outcome is not Outcome.PARKED, "an order that exists parks nothing"
            if decision.outcome is Outcome.APPLIED:
                self._store(order_id, decision)
            if index is None:
                self.resolved.append(_result(event, decision))
            else:
                self.results[index] = _result(event, decision)


def _result(event: DomainEvent, decision: Decision) -> EventResult:
    return EventResult(event, decision.outcome, decision.reason, decision.changes)


__all__ = ["EventResult", "InboxResult", "InboxView", "ParkedEvent", "process"]
