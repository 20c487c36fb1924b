"""One seller account on the channel: its orders, its stored events and its queue.

This is the delivery side of the protocol page (subscriptions, replay, pull, ack); the
trading side that creates and changes orders lives in `lifecycle.py`. Callers hold the
marketplace lock.

Queue semantics chosen where the page leaves room:
- An event is queued when it is created only if its type is subscribed at that moment;
  initially nothing is subscribed. A replay (`createdAfter`) queues stored events again.
- An event that already has a live entry (visible or in flight) is not queued twice by
  a replay; an acknowledged or lost one gets a new entry, so a new id.
- A type that is unsubscribed keeps its queued entries; they are not delivered until the
  type is subscribed again.
- Events of unknown types (injected by the fault switches) are always queued and are
  delivered whenever no `eventTypeFilter` is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from channelport.simulator.faults import Faults
from channelport.simulator.model import (
    CancelRequest,
    SimOrder,
    StoredEvent,
    new_payload,
    order_truth,
)
from channelport.simulator.queue import DeliveryQueue, Entry
from channelport.simulator.wire import (
    ADDRESS,
    KNOWN_TYPES,
    NEW,
    STATUS,
    ProtocolError,
    us_to_text,
)

UNKNOWN_TYPE = "Channel:Order.GiftNote"
MALFORMED_KINDS: tuple[str, ...] = ("float_quantity", "missing_order_id", "bad_purchased_at", "items_not_a_list")


class SellerBook:
    def __init__(
        self, index: int, seller_id: str, token: str, seed: int, faults: Faults, next_entry_no: Callable[[], int]
    ) -> None:
        self.index = index
        self.seller_id = seller_id
        self.token = token
        self.rng = random.Random(f"{seed}:{seller_id}:orders")  # the organic order stream
        self.answers_rng = random.Random(f"{seed}:{seller_id}:answers")  # answers to API requests
        self.faults = faults
        self._next_entry_no = next_entry_no
        self.orders: dict[str, SimOrder] = {}
        self.events: list[StoredEvent] = []
        self.enabled: dict[str, bool] = {t: False for t in KNOWN_TYPES}
        self.created_after: dict[str, int | None] = {t: None for t in KNOWN_TYPES}
        self.queue = DeliveryQueue()
        self.requests: dict[str, CancelRequest] = {}
        self.echo: list[tuple[str, StoredEvent]] = []  # "same id again" duplicates for the next page
        self.next_order_no = index * 1_000_000 + 1
        self.arrival_gen = 0
        self.injected = 0

    # --- storing and queueing -------------------------------------------------------
    def emit(self, type_: str, created_ms: int, order: SimOrder | None, data: Any) -> StoredEvent:
        """Store a new event of an order and queue it if its type is subscribed now."""
        event = StoredEvent(len(self.events), type_, created_ms, order, data)
        self.events.append(event)
        if order is not None:
            order.events.append(event)
            if created_ms > order.last_ms:
                order.last_ms = created_ms
        self._queue_new(event)
        faults = self.faults
        settings = faults.settings
        if settings.unknown_event_probability and faults.chance(settings.unknown_event_probability):
            self.inject_unknown(created_ms)
        if settings.malformed_event_probability and faults.chance(settings.malformed_event_probability):
            self.inject_malformed(created_ms, faults.rng.choice(MALFORMED_KINDS))
        return event

    def _queue_new(self, event: StoredEvent) -> None:
        if self.enabled.get(event.type, True):
            lose = self.faults.settings.lose_probability
            if not (lose and self.faults.chance(lose)):
                self.enqueue(event)

    def enqueue(self, event: StoredEvent, *, live: bool = True) -> Entry:
        no = self._next_entry_no()
        entry = Entry(no, f"ev-{no}", event)
        self.queue.add(entry)
        if live:
            event.live = entry
        return entry

    def _requeue_later(self, event: StoredEvent, now: float) -> Entry:
        """A fault's extra delivery under a new id, visible from the next pull on."""
        no = self._next_entry_no()
        entry = Entry(no, f"ev-{no}", event)
        self.queue.add_invisible(entry, now)
        return entry

    # --- injected events (faults) ---------------------------------------------------
    def _latest_order(self) -> SimOrder | None:
        return next(reversed(self.orders.values()), None) if self.orders else None

    def inject_unknown(
        self, created_ms: int, type_: str = UNKNOWN_TYPE, payload: dict[str, Any] | None = None
    ) -> StoredEvent:
        """An event of a type this protocol version does not know (a newer server)."""
        if payload is None:
            order = self._latest_order()
            payload = {
                "sellerId": self.seller_id,
                "orderId": order.order_id if order else "KL-UNKNOWN",
                "giftNote": "Alles Gute zum Geburtstag! Viele Grüße, Oma",
            }
        return self._inject(type_, created_ms, payload)

    def inject_malformed(self, created_ms: int, kind: str = "float_quantity") -> StoredEvent:
        """An event of a known type whose payload breaks the protocol.

        Malformed orders get ids of their own (`MALFORMED-...`), so they never touch a
        true order: a client that accepts one shows an order the truth does not have.
        """
        self.injected += 1
        fake_id = f"MALFORMED-{self.index}-{self.injected:06d}"
        order = self._latest_order()
        if kind == "missing_order_id":
            return self._inject(STATUS, created_ms, {"sellerId": self.seller_id, "orderStatus": "SHIPPED"})
        if order is None:
            base: dict[str, Any] = {
                "sellerId": self.seller_id,
                "orderStatus": "CREATED",
                "purchasedAt": "2026-01-01T00:00:00.000Z",
                "lastChangedAt": "2026-01-01T00:00:00.000Z",
                "currency": "EUR",
                "orderItem": [
                    {
                        "orderItemId": "1",
                        "type": "ITEM",
                        "sku": "X",
                        "quantity": "1",
                        "grossPrice": "1.00",
                        "total": "1.00",
                        "taxPercent": "19",
                        "itemStatus": "UNSHIPPED",
                        "itemPaymentStatus": "PAID",
                    }
                ],
            }
        else:
            base = new_payload(self.seller_id, order)
        base["orderId"] = fake_id
        if kind == "float_quantity":
            base["orderItem"][0]["quantity"] = 2.0
        elif kind == "bad_purchased_at":
            base["purchasedAt"] = "yesterday, around noon"
        elif kind == "items_not_a_list":
            base["orderItem"] = {"orderItemId": "1"}
        else:
            raise ValueError(f"unknown malformed kind {kind!r} (known: {', '.join(MALFORMED_KINDS)})")
        return self._inject(NEW, created_ms, base)

    def inject_raw(self, created_ms: int, type_: str, payload: Any) -> StoredEvent:
        """Any `event` payload (not necessarily an object) under any type: hostile input
        for clients. It is never part of the truth."""
        self.injected += 1
        return self._inject(type_, created_ms, payload)

    def _inject(self, type_: str, created_ms: int, payload: Any) -> StoredEvent:
        event = StoredEvent(len(self.events), type_, created_ms, None, payload, injected=True)
        self.events.append(event)
        self._queue_new(event)
        return event

    # --- PUT /v2/seller/event-imports -------------------------------------------------
    def subscribe(self, imports: Sequence[tuple[str, int | None]]) -> list[dict[str, Any]]:
        """Declarative replace of the subscribed types, with inclusive replays."""
        seen: set[str] = set()
        for type_, _ in imports:
            if type_ not in KNOWN_TYPES:
                raise ProtocolError(f"unknown event type {type_!r}", "UNKNOWN_EVENT_TYPE")
            if type_ in seen:
                raise ProtocolError(f"event type {type_!r} listed twice")
            seen.add(type_)
        requested = dict(imports)
        for type_ in KNOWN_TYPES:
            self.enabled[type_] = type_ in requested
            self.created_after[type_] = requested.get(type_)
        replays = {t: us for t, us in requested.items() if us is not None}
        if replays:
            self._replay(replays)
        return self.subscription_state()

    def subscription_state(self) -> list[dict[str, Any]]:
        return [
            {
                "type": t,
                "isImportEnabled": self.enabled[t],
                "createdAfter": None if self.created_after[t] is None else us_to_text(self.created_after[t]),
            }
            for t in KNOWN_TYPES
        ]

    def _replay(self, since_us: dict[str, int]) -> None:
        for event in self.events:
            since = since_us.get(event.type)
            if since is not None and event.created_ms * 1000 >= since and event.live is None:
                self.enqueue(event)
        since_new = since_us.get(NEW)
        if since_new is not None:  # the order event of every order created or changed since then
            for order in self.orders.values():
                event = order.new_event
                if order.last_ms * 1000 >= since_new and event is not None and event.live is None:
                    self.enqueue(event)

    # --- GET /v2/seller/event -----------------------------------------------------
    def deliverable_types(self, type_filter: Iterable[str] | None) -> list[str]:
        if type_filter is None:
            return [t for t in self.queue.types() if self.enabled.get(t, True)]
        wanted = set(type_filter)
        return [t for t in KNOWN_TYPES if self.enabled[t] and t in wanted]

    def pull(
        self, limit: int, type_filter: Iterable[str] | None, now: float, visibility_timeout: float
    ) -> list[tuple[str, StoredEvent]]:
        """Up to `limit` visible events, oldest `createdAt` first; they go in flight."""
        faults = self.faults
        queue = self.queue
        queue.release(now)
        types = self.deliverable_types(type_filter)
        page: list[tuple[str, StoredEvent]] = []
        while self.echo and len(page) < limit:
            entry_id, event = self.echo.pop(0)
            if event.type in types:
                page.append((entry_id, event))
        while len(page) < limit:
            entry = queue.take(types)
            if entry is None:
                break
            event = entry.event
            if faults.hold_new_seconds > 0 and event.type == NEW and not entry.held:
                entry.held = True
                queue.mark_inflight(entry, now + faults.hold_new_seconds)
                continue
            queue.mark_inflight(entry, now + visibility_timeout)
            page.append((entry.id, event))
            if faults.chance(faults.duplicate_probability):
                self._duplicate(entry, page, limit, now, visibility_timeout)
            if event.type in (STATUS, ADDRESS) and faults.chance(faults.stale_probability):
                older = self._older_of_same_kind(event)
                if older is not None:
                    self._requeue_later(older, now)
        return page

    def _duplicate(
        self, entry: Entry, page: list[tuple[str, StoredEvent]], limit: int, now: float, visibility_timeout: float
    ) -> None:
        mode = self.faults.rng.randrange(3)
        if mode == 0:  # the same id again, in the next page
            self.echo.append((entry.id, entry.event))
        elif mode == 1 or len(page) >= limit:  # queued again under a new id
            self._requeue_later(entry.event, now)
        else:  # the same payload twice in this page, under a new id
            copy = self._requeue_later(entry.event, now + visibility_timeout)
            page.append((copy.id, entry.event))

    @staticmethod
    def _older_of_same_kind(event: StoredEvent) -> StoredEvent | None:
        order = event.order
        if order is None:
            return None
        older = [e for e in order.events if e.type == event.type and e.created_ms < event.created_ms]
        return older[-1] if older else None

    # --- DELETE /v2/seller/event ----------------------------------------------------
    def ack(self, entry_ids: Iterable[str]) -> int:
        count = 0
        for entry_id in dict.fromkeys(entry_ids):
            entry = self.queue.remove(entry_id)
            if entry is not None:
                count += 1
                if entry.event.live is entry:
                    entry.event.live = None
        return count

    def lose(self, fraction: float, since_ms: int | None, until_ms: int | None, rng: random.Random) -> int:
        """Drop queued entries of events created in [since, until) without an ack."""
        candidates = sorted(
            (
                e
                for e in self.queue
                if (since_ms is None or e.event.created_ms >= since_ms)
                and (until_ms is None or e.event.created_ms < until_ms)
            ),
            key=lambda e: e.no,
        )
        chosen = rng.sample(candidates, round(len(candidates) * fraction)) if fraction < 1 else candidates
        for entry in chosen:
            self.ack([entry.id])
        self.echo = [(i, e) for i, e in self.echo if i not in {c.id for c in chosen}]
        return len(chosen)

    def truth(self, account: str) -> list[dict[str, Any]]:
        return [order_truth(self.orders[order_id], account) for order_id in sorted(self.orders)]
