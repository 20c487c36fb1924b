"""The reference marketplace: a simulated channel with a clock, sellers and faults.

`Marketplace` is what tests, the benchmark and the demo drive from Python; the HTTP
server (`server.py`) is a thin layer over the same methods. One re-entrant lock guards
everything, because the server thread and the test thread use it at once.

Two clocks, on purpose:
- the simulated clock (`now`) only moves when told (`advance`, `advance_to`,
  `generate`); every event's `createdAt` is a simulated instant, so tests can replay
  "from yesterday 00:00" exactly;
- the visibility timeout runs on the real monotonic clock, so a test server can use
  half a second and re-delivery happens while the simulated clock stands still.

The truth (`truth`) is computed from the simulator's own records of each order, by
the channel's rules, never through `channelport.domain`.
"""

from __future__ import annotations

import gc
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from channelport.simulator import validate
from channelport.simulator.faults import Faults
from channelport.simulator.generator import between
from channelport.simulator.lifecycle import DAY, Trader
from channelport.simulator.model import StoredEvent
from channelport.simulator.seller import SellerBook
from channelport.simulator.wire import (
    UTC,
    ProtocolError,
    datetime_to_ms,
    ms_to_datetime,
    ms_to_text,
    parse_timestamp_us,
)

Tap = Callable[[str, str, str, Any], None]  # (operation, stage, seller id, answer)

DEFAULT_START = datetime(2026, 11, 20, tzinfo=UTC)
DEFAULT_SELLERS: Mapping[str, str] = {"S-1001": "token-1"}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Trading and rendering the truth allocate many long-lived objects and no cycles worth
    collecting; the cyclic collector would rescan them again and again (generation time
    grew faster than linearly with it), so it pauses meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Marketplace:
    """A simulated channel speaking the Channel Event API (see the package docstring)."""

    def __init__(
        self,
        seed: int = 1,
        start: datetime | None = None,
        sellers: Mapping[str, str] | None = None,
        visibility_timeout: float = 300.0,
        orders_per_day: float = 50.0,
        *,
        cancel_accept_probability: float = 0.8,
        answer_delay: tuple[float, float] = (60.0, 900.0),
    ) -> None:
        sellers = dict(DEFAULT_SELLERS if sellers is None else sellers)
        if not sellers:
            raise ValueError("a marketplace needs at least one seller")
        if len(set(sellers.values())) != len(sellers):
            raise ValueError("every seller needs a token of its own")
        if visibility_timeout <= 0:
            raise ValueError("visibility_timeout must be > 0 seconds")
        if orders_per_day < 0:
            raise ValueError("orders_per_day must be >= 0")
        if not 0 <= cancel_accept_probability <= 1:
            raise ValueError("cancel_accept_probability must be between 0 and 1")
        if not 0 <= answer_delay[0] <= answer_delay[1]:
            raise ValueError("answer_delay must be (min, max) seconds with 0 <= min <= max")
        self.lock = threading.RLock()
        self.seed = seed
        self.visibility_timeout = float(visibility_timeout)
        self.orders_per_day = float(orders_per_day)
        self.answer_delay = (float(answer_delay[0]), float(answer_delay[1]))
        self.faults = Faults(seed, self.lock)
        self._taps: tuple[Tap, ...] = ()
        self._trader = Trader()
        self._trader.cancel_accept_probability = cancel_accept_probability
        self._now_ms = datetime_to_ms(start or DEFAULT_START)
        self._trader.horizon = self._now_ms
        entry_numbers = itertools.count(1)
        self._books: dict[str, SellerBook] = {}
        self._by_token: dict[str, SellerBook] = {}
        for index, (seller_id, token) in enumerate(sellers.items()):
            if not seller_id or not token:
                raise ValueError("seller ids and tokens must be non-empty")
            book = SellerBook(index, seller_id, token, seed, self.faults, entry_numbers.__next__)
            self._books[seller_id] = book
            self._by_token[token] = book
            self._trader.schedule_arrival(book, self._now_ms, self.orders_per_day)

    # --- the simulated clock ----------------------------------------------------------
    @property
    def now(self) -> datetime:
        with self.lock:
            return ms_to_datetime(self._now_ms)

    @property
    def cancel_accept_probability(self) -> float:
        return self._trader.cancel_accept_probability

    @cancel_accept_probability.setter
    def cancel_accept_probability(self, value: float) -> None:
        if not 0 <= value <= 1:
            raise ValueError("cancel_accept_probability must be between 0 and 1")
        with self.lock:
            self._trader.cancel_accept_probability = value

    def advance(self, delta: timedelta | float) -> datetime:
        """Trade for `delta` (a timedelta or seconds): orders arrive and change, events are created."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("the clock does not go backwards")
        with self.lock:
            return self._advance_to_ms(self._now_ms + round(seconds * 1000))

    def advance_to(self, when: datetime) -> datetime:
        target = datetime_to_ms(when)
        with self.lock:
            if target < self._now_ms:
                raise ValueError(
                    f"the clock does not go backwards ({when.isoformat()} is before {self.now.isoformat()})"
                )
            return self._advance_to_ms(target)

    def follow(self, when: datetime) -> None:
        """Advance to `when` if it is later than now (serve mode follows the wall clock)."""
        target = datetime_to_ms(when)
        with self.lock:
            if target > self._now_ms:
                self._advance_to_ms(target)

    def _advance_to_ms(self, target: int) -> datetime:
        with _gc_paused():
            self._trader.run_until(target)
        self._now_ms = target
        return ms_to_datetime(target)

    def generate(self, orders: int = 500, days: float = 7.0) -> datetime:
        """Trade for `days` from now with exactly `orders` new orders per seller.

        The orders' purchase instants are spread uniformly over (now, now + days]; the
        Poisson stream of `orders_per_day` pauses for that period and resumes after it.
        The clock ends at now + days; lifecycle changes due later happen on later
        advances. To end at a given instant (the CLI ends at the real now), start the
        marketplace `days` before it.
        """
        if orders < 0:
            raise ValueError("orders must be >= 0")
        span = round(days * DAY)
        if span <= 0:
            raise ValueError("days must be > 0")
        with self.lock:
            start = self._now_ms
            for book in self._books.values():
                book.arrival_gen += 1  # the pending Poisson arrival is void
                instants = sorted(between(book.rng, start + 1, start + span) for _ in range(orders))
                self._trader.add_bulk_arrivals(book, instants)
                self._trader.schedule_arrival(book, start + span, self.orders_per_day)
            return self._advance_to_ms(start + span)

    # --- looking at it ----------------------------------------------------------------
    @property
    def sellers(self) -> list[str]:
        return list(self._books)

    def _book(self, seller_id: str) -> SellerBook:
        try:
            return self._books[seller_id]
        except KeyError:
            raise KeyError(f"unknown seller {seller_id!r} (known: {', '.join(self._books)})") from None

    def seller_for_token(self, token: str) -> str | None:
        book = self._by_token.get(token)
        return None if book is None else book.seller_id

    def truth(self, seller_id: str, account: str = "kaufland-main") -> list[dict[str, Any]]:
        """Every order's true current state in the export format, sorted by orderId."""
        with self.lock, _gc_paused():
            return self._book(seller_id).truth(account)

    def queue_size(self, seller_id: str) -> int:
        """Events queued and not acknowledged (visible or in flight)."""
        with self.lock:
            return len(self._book(seller_id).queue)

    def event_count(self, seller_id: str) -> int:
        """Events ever created for this seller (stored, acknowledged or not)."""
        with self.lock:
            return len(self._book(seller_id).events)

    def order_count(self, seller_id: str) -> int:
        with self.lock:
            return len(self._book(seller_id).orders)

    def event_log(self, seller_id: str) -> list[dict[str, Any]]:
        """Every stored event in creation order: {"type", "createdAt", "event"} (payload as delivered)."""
        with self.lock:
            book = self._book(seller_id)
            return [
                {
                    "type": e.type,
                    "createdAt": ms_to_text(e.created_ms),
                    "event": e.payload(seller_id),
                    "injected": e.injected,
                }
                for e in book.events
            ]

    def order_plans(self, seller_id: str) -> dict[str, str]:
        """orderId -> the lifecycle chosen at creation (ship, partial_ship, buyer_cancel, portal_*)."""
        with self.lock:
            return {order_id: order.plan for order_id, order in self._book(seller_id).orders.items()}

    def cancellation_requests(self, seller_id: str) -> list[dict[str, Any]]:
        """Every seller request (portal and API) with when it was opened and answered."""
        with self.lock:
            return [
                {
                    "orderCancellationRequestId": r.request_id,
                    "orderId": r.order.order_id,
                    "source": r.source,
                    "state": r.state,
                    "openedAt": ms_to_text(r.opened_ms),
                    "answerDueAt": ms_to_text(r.answer_ms),
                }
                for r in self._book(seller_id).requests.values()
            ]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "now": ms_to_text(self._now_ms),
                "requests": self.faults.requests,
                "sellers": {
                    seller_id: {
                        "orders": len(book.orders),
                        "events": len(book.events),
                        "queued": len(book.queue),
                        "inFlight": book.queue.inflight_count(),
                        "subscribed": [t for t, on in book.enabled.items() if on],
                    }
                    for seller_id, book in self._books.items()
                },
            }

    # --- faults that act on the queue ---------------------------------------------------
    def lose_events(
        self,
        fraction: float = 1.0,
        since: datetime | None = None,
        until: datetime | None = None,
        seller_id: str | None = None,
    ) -> int:
        """Drop queued events created in [since, until) from the queue, without an ack.

        `fraction` of them (chosen by the fault RNG) are dropped; only a replay
        (`createdAfter`) brings them back. Returns how many were dropped.
        """
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        since_ms = None if since is None else datetime_to_ms(since)
        until_ms = None if until is None else datetime_to_ms(until)
        with self.lock:
            books = self._books.values() if seller_id is None else [self._book(seller_id)]
            return sum(book.lose(fraction, since_ms, until_ms, self.faults.rng) for book in books)

    def expire_inflight(self, seller_id: str | None = None) -> int:
        """Make every in-flight (invisible) event visible again now; returns how many."""
        with self.lock:
            books = self._books.values() if seller_id is None else [self._book(seller_id)]
            return sum(book.queue.release_all() for book in books)

    def inject_unknown_event(
        self, seller_id: str, type_: str = "Channel:Order.GiftNote", payload: dict[str, Any] | None = None
    ) -> None:
        """Store and queue an event of a type the protocol page does not define."""
        with self.lock:
            self._book(seller_id).inject_unknown(self._now_ms, type_, payload)

    def inject_malformed_event(self, seller_id: str, kind: str = "float_quantity") -> None:
        """Store and queue an event whose payload breaks the protocol (see seller.MALFORMED_KINDS)."""
        with self.lock:
            self._book(seller_id).inject_malformed(self._now_ms, kind)

    def inject_event(self, seller_id: str, type_: str, payload: Any, created_at: datetime | None = None) -> str:
        """Store and queue an event with exactly this type and `event` payload (any JSON
        value), created at `created_at` (default: now); returns the id it is delivered
        under. For hostile-input tests: the truth never includes it, so give it order ids
        no true order has."""
        with self.lock:
            created_ms = self._now_ms if created_at is None else datetime_to_ms(created_at)
            event = self._book(seller_id).inject_raw(created_ms, type_, payload)
            if event.live is None:
                raise ValueError(f"{type_} is not subscribed (or the lose fault is on): stored, not queued")
            return str(event.live.id)

    # --- taps: a test sees each protocol request as the server handles it ----------------
    def add_tap(self, tap: Tap) -> None:
        """Call `tap(operation, stage, seller_id, answer)` for every protocol request that
        passed the faults and the token check: stage "received" before the operation runs
        (answer None), "answered" after it ran and before the answer (its body, bytes) is
        sent. Operations:
        "subscribe", "pull", "ack", "cancel". Lets a test act at an exact point of a
        client's sync (kill the client while its acknowledgement is on the wire, say)."""
        with self.lock:
            self._taps = (*self._taps, tap)

    def remove_tap(self, tap: Tap) -> None:
        with self.lock:
            self._taps = tuple(t for t in self._taps if t is not tap)

    def tap(self, operation: str, stage: str, seller_id: str, answer: Any = None) -> None:
        for tap in self._taps:
            tap(operation, stage, seller_id, answer)

    # --- the protocol operations (the HTTP server calls these) -------------------------
    def subscribe(self, seller_id: str, body: Any) -> dict[str, Any]:
        """PUT /v2/seller/event-imports with a parsed JSON body; ProtocolError -> 400."""
        imports = validate.event_imports(body)
        with self.lock:
            return {"eventImports": self._book(seller_id).subscribe(imports)}

    def pull(
        self, seller_id: str, limit: int = validate.DEFAULT_LIMIT, types: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """GET /v2/seller/event: {"eventList": [...]} and the events go in flight."""
        with self.lock:
            page = self._take(seller_id, limit, types)
            return {
                "eventList": [
                    {
                        "id": entry_id,
                        "type": event.type,
                        "createdAt": ms_to_text(event.created_ms),
                        "event": event.payload(seller_id),
                    }
                    for entry_id, event in page
                ]
            }

    def pull_json(
        self, seller_id: str, limit: int = validate.DEFAULT_LIMIT, types: Iterable[str] | None = None
    ) -> bytes:
        """`pull` as the compact JSON body the server sends, from each event's kept text."""
        with self.lock:
            page = self._take(seller_id, limit, types)
            entries = ",".join(
                f'{{"id":{json.dumps(entry_id, ensure_ascii=False)}{event.wire(seller_id)}' for entry_id, event in page
            )
        # A lone surrogate (an injected hostile event's) cannot be UTF-8: it goes out as its
        # JSON escape, which is what a channel sending one would write.
        return f'{{"eventList":[{entries}]}}'.encode("utf-8", "backslashreplace")

    def _take(self, seller_id: str, limit: int, types: Iterable[str] | None) -> list[tuple[str, StoredEvent]]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= validate.MAX_LIMIT:
            raise ProtocolError(f"limit must be an integer from 1 to {validate.MAX_LIMIT}")
        type_filter = None if types is None else validate.type_filter([",".join(types)])
        return self._book(seller_id).pull(limit, type_filter, time.monotonic(), self.visibility_timeout)

    def ack(self, seller_id: str, body: Any) -> dict[str, int]:
        """DELETE /v2/seller/event with a parsed JSON body."""
        ids = validate.ack_ids(body)
        with self.lock:
            return {"acknowledged": self._book(seller_id).ack(ids)}

    def request_cancellation(self, seller_id: str, body: Any) -> tuple[bool, dict[str, Any]]:
        """POST /v2/seller/order/cancellation-request: (created?, answer body).

        First receipt -> True (201); the same request id again -> False (200), whatever
        the body says. An unknown orderId is refused with 400 (code ORDER_NOT_FOUND).
        The answer is created when the simulated clock passes now + a delay drawn from
        `answer_delay`.
        """
        request = validate.cancellation(body)
        with self.lock:
            book = self._book(seller_id)
            known = book.requests.get(request.request_id)
            if known is not None:
                return False, {"orderCancellationRequestId": known.request_id, "state": known.state}
            order = book.orders.get(request.order_id)
            if order is None:
                raise ProtocolError(f"unknown orderId {request.order_id!r}", "ORDER_NOT_FOUND")
            low, high = self.answer_delay
            delay_ms = max(1, round(book.answers_rng.uniform(low, high) * 1000))
            opened = self._trader.open_api_request(
                book, order, request.request_id, request.items, request.cancel_reason, self._now_ms, delay_ms
            )
            return True, {"orderCancellationRequestId": opened.request_id, "state": opened.state}


def parse_instant_arg(text: str) -> datetime:
    """An RFC 3339 instant from the control API or the CLI."""
    us = parse_timestamp_us(text)
    return ms_to_datetime(0) + timedelta(microseconds=us)
