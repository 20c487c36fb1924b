"""Trading: orders arrive and live their lives on the simulated clock.

A discrete-event simulation: an agenda of actions ordered by (instant, insertion), run up
to a horizon when the clock is advanced. Every change emits its event with `createdAt`
= the simulated instant of the change, so events come out in time order.

Per order (the benchmark relies on this mix: about 3.5 events per order once every
lifecycle has run to its end, which takes up to about three weeks):
- the new order (CREATED);
- ACCEPTED, then SHIPPED, or PARTIALLY_SHIPPED then SHIPPED (two or three status changes;
  ACCEPTED lists the items' payment when a prepayment arrived);
- in 15 % of shipped orders a return later (a status update, order status unchanged, one
  item RETURNED);
- in 10 % of orders one address change while CREATED (shipping, billing, both, or buyer);
- in 5 % a cancellation: by the buyer (CANCELED_BY_BUYER status update), or a seller's
  request on the seller portal answered accepted (whole or partial) or denied.
Seller requests through the API are answered at a delay (`_decide_api`): denied when the
order is cancelled or the items shipped, otherwise accepted with
`cancel_accept_probability`, quantities clamped to what is left.

The channel's guarantees (docs/order-semantics.md) hold by construction:
- distinct changes of one order are at least 1 ms apart (`_instant` bumps a change to
  the order's last change + 1 ms, and pushes it back if that is past the horizon);
- status steps run one after the other, so a deferred step never overtakes the next;
- a status step waits while a seller's cancellation request is open;
- nothing changes a cancelled order except answers to requests made before;
- no status update lists a fully cancelled item.

Randomness: each seller's organic stream comes from its own `rng`, consumed only in
action order, so how the clock is advanced (one big step or many small ones) does not
change what happens. Answers to API requests draw from a separate `answers_rng`, so a
client's requests do not reshuffle the organic stream.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from decimal import Decimal
from functools import lru_cache
from typing import Any

from channelport.domain.money import decimal_text
from channelport.simulator.agenda import Agenda
from channelport.simulator.catalog import (
    COMPANY_FORMS,
    DENIAL_REASONS,
    SELLER_CANCEL_REASONS,
)
from channelport.simulator.generator import (
    between,
    country_of,
    draft_order,
    email_for,
    new_address,
    pick,
    vat_id,
)
from channelport.simulator.model import CancelRequest, SimOrder
from channelport.simulator.seller import SellerBook
from channelport.simulator.wire import (
    ADDRESS,
    CANCEL_ACCEPTED,
    CANCEL_DENIED,
    NEW,
    STATUS,
    ms_to_datetime,
)

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# agenda action kinds
ARRIVE, STEP, ADDRESS_CHANGE, ANSWER = range(4)
# status steps of an order's plan
ACCEPT, PARTIAL_SHIP, SHIP, BUYER_CANCEL, PORTAL_REQUEST, RETURN = range(6)


@lru_cache(maxsize=4096)
def _year(day: int) -> int:
    return ms_to_datetime(day * DAY).year


def plan_lifecycle(rng: Any, item_lines: int) -> tuple[str, tuple[tuple[int, int, Any], ...], int | None]:
    """Choose an order's future: (plan name, status steps with relative delays, address delay)."""
    accept = between(rng, 2 * MINUTE, 10 * HOUR)
    address = between(rng, MINUTE, accept - MINUTE) if rng.random() < 0.10 else None
    r = rng.random()
    if r < 0.02:
        if rng.random() < 0.5:
            return (
                "buyer_cancel",
                ((accept, ACCEPT, None), (between(rng, 10 * MINUTE, 6 * HOUR), BUYER_CANCEL, None)),
                address,
            )
        return "buyer_cancel", ((accept, BUYER_CANCEL, None),), address
    if r < 0.05:
        outcome = ("whole", "partial", "deny")[rng.randrange(3)]
        request = (outcome, between(rng, 10 * MINUTE, 8 * HOUR), pick(rng, SELLER_CANCEL_REASONS))
        return (
            f"portal_{outcome}",
            (
                (accept, ACCEPT, None),
                (between(rng, 5 * MINUTE, 4 * HOUR), PORTAL_REQUEST, request),
                (between(rng, HOUR, 2 * DAY), SHIP, None),
            ),
            address,
        )
    if item_lines >= 2 and rng.random() < 0.6:
        plan = "partial_ship"
        steps: tuple[tuple[int, int, Any], ...] = (
            (accept, ACCEPT, None),
            (between(rng, 2 * HOUR, 2 * DAY), PARTIAL_SHIP, None),
            (between(rng, DAY, 5 * DAY), SHIP, None),
        )
    else:
        plan = "ship"
        steps = ((accept, ACCEPT, None), (between(rng, 3 * HOUR, 3 * DAY), SHIP, None))
    if rng.random() < 0.15:  # the buyer sends something back
        plan += "_return"
        steps += ((between(rng, 2 * DAY, 14 * DAY), RETURN, None),)
    return plan, steps, address


class Trader:
    """The agenda of actions and what each action does to an order."""

    def __init__(self) -> None:
        self.agenda = Agenda()
        self._seq = itertools.count()
        # Bulk arrivals (`Marketplace.generate`): per seller a sorted list of instants, fed
        # into the run one at a time instead of through the agenda.
        # Entries: (next instant, seller index, instants, position, book).
        self._bulk: list[tuple[int, int, list[int], int, SellerBook]] = []
        self.horizon = 0  # no event may be created after this instant (the clock's target)
        self.cancel_accept_probability = 0.8  # API requests that can be granted are, this often

    def push(self, at_ms: int, kind: int, book: SellerBook, target: Any = None, arg: Any = None) -> None:
        self.agenda.push((at_ms, next(self._seq), kind, book, target, arg))

    def add_bulk_arrivals(self, book: SellerBook, instants: list[int]) -> None:
        """Orders that arrive at these (sorted) instants, before other actions of the same instant."""
        if instants:
            heapq.heappush(self._bulk, (instants[0], book.index, instants, 0, book))

    def _next_bulk(self, horizon_ms: int) -> int | None:
        bulk = self._bulk
        if not bulk or bulk[0][0] > horizon_ms:
            return None
        at, index, instants, position, book = bulk[0]
        next_action = self.agenda.next_instant()
        if next_action is not None and next_action < at:
            return None
        position += 1
        if position < len(instants):
            heapq.heapreplace(bulk, (instants[position], index, instants, position, book))
        else:
            heapq.heappop(bulk)
        self.create_order(book, at)
        return at

    def run_until(self, horizon_ms: int) -> None:
        self.horizon = horizon_ms
        agenda = self.agenda
        while True:
            if self._bulk and self._next_bulk(horizon_ms) is not None:
                continue
            next_action = agenda.next_instant()
            if next_action is None or next_action > horizon_ms:
                break
            at, _, kind, book, target, arg = agenda.pop()
            if kind == STEP:
                self._step(at, book, target)
            elif kind == ARRIVE:
                if arg[0] == book.arrival_gen:
                    self.create_order(book, at)
                    self.schedule_arrival(book, at, arg[1])
            elif kind == ADDRESS_CHANGE:
                self._address_change(at, book, target)
            elif kind == ANSWER:
                self._answer(at, book, target)

    # --- arrivals -------------------------------------------------------------------
    def schedule_arrival(self, book: SellerBook, after_ms: int, orders_per_day: float) -> None:
        """The next order of a Poisson stream of `orders_per_day`."""
        if orders_per_day > 0:
            gap = max(1, int(book.rng.expovariate(orders_per_day / DAY)))
            self.push(after_ms + gap, ARRIVE, book, None, (book.arrival_gen, orders_per_day))

    def create_order(self, book: SellerBook, at_ms: int) -> SimOrder:
        rng = book.rng
        draft = draft_order(rng)
        no = book.next_order_no
        book.next_order_no += 1
        item_lines = len(draft.lines) - 1  # every order has one SHIPPING line, the last
        plan, steps, address_delay = plan_lifecycle(rng, item_lines)
        order_id = f"KL-{_year(at_ms // DAY)}-{no:06d}"
        order = SimOrder(
            no,
            order_id,
            at_ms,
            draft.currency,
            draft.payment_method,
            draft.buyer,
            draft.billing,
            draft.shipping,
            draft.lines,
            plan,
        )
        order.steps = steps
        book.orders[order_id] = order
        order.new_event = book.emit(NEW, at_ms, order, None)
        if address_delay is not None:
            self.push(at_ms + address_delay, ADDRESS_CHANGE, book, order)
        self.push(at_ms + steps[0][0], STEP, book, order)
        return order

    # --- helpers ----------------------------------------------------------------------
    def _instant(self, at: int, kind: int, book: SellerBook, target: Any, order: SimOrder) -> int | None:
        """The instant of a change: after the order's last change; None if pushed back."""
        instant = max(at, order.last_ms + 1)
        if instant > self.horizon:
            self.push(instant, kind, book, target)
            return None
        return instant

    @staticmethod
    def _defer_ms(order: SimOrder) -> int:
        """How long after its requests are answered a waiting status step runs (no rng draw)."""
        return MINUTE + (order.no * 7919) % HOUR

    # --- status steps ---------------------------------------------------------------
    def _step(self, at: int, book: SellerBook, order: SimOrder) -> None:
        if order.terminal or not order.steps:
            order.steps = ()
            return
        _, kind, arg = order.steps[0]
        if kind == PORTAL_REQUEST:
            self._open_portal_request(at, book, order, arg)
            instant = at
        else:
            if order.open_requests:
                self.push(max(at, order.frozen_until) + self._defer_ms(order), STEP, book, order)
                return
            maybe = self._instant(at, STEP, book, order, order)
            if maybe is None:
                return
            instant = maybe
            self._status_change(instant, book, order, kind)
        order.steps = order.steps[1:]
        if order.steps and not order.terminal:
            self.push(instant + order.steps[0][0], STEP, book, order)

    def _status_change(self, instant: int, book: SellerBook, order: SimOrder, kind: int) -> None:
        lines = order.lines
        item_status = order.item_status
        if order.cancelled is None:
            open_lines: range | list[int] = range(len(lines))
        else:
            open_lines = [i for i in range(len(lines)) if not order.fully_cancelled(i)]
        changes: list[tuple[int, str | None, str | None]]  # (line index, itemStatus, paymentStatus)
        if kind == ACCEPT:
            target = "ACCEPTED"
            changes = [(i, None, "PAID") for i in open_lines if order.pay_status[i] == "PENDING"]
        elif kind == PARTIAL_SHIP:
            candidates = [i for i in open_lines if lines[i].type == "ITEM" and item_status[i] == "UNSHIPPED"]
            if len(candidates) < 2:
                return
            chosen = sorted(book.rng.sample(candidates, between(book.rng, 1, len(candidates) - 1)))
            target = "PARTIALLY_SHIPPED"
            changes = [(i, "SHIPPED", None) for i in chosen]
        elif kind == SHIP:
            target = "SHIPPED"
            changes = [(i, "SHIPPED", None) for i in open_lines if item_status[i] == "UNSHIPPED"]
            if order.status == "SHIPPED" and not changes:
                return
        elif kind == RETURN:
            candidates = [i for i in open_lines if lines[i].type == "ITEM" and item_status[i] == "SHIPPED"]
            if not candidates:
                return
            target = order.status  # unchanged: only items change
            changes = [(pick(book.rng, candidates), "RETURNED", None)]
        else:  # BUYER_CANCEL
            target = "CANCELED_BY_BUYER"
            changes = [(i, "CANCELED_BY_BUYER", None) for i in open_lines]
        wire = tuple((lines[i].item_id, s, p) for i, s, p in changes) if changes else None
        book.emit(STATUS, instant, order, (target, wire))
        order.status = target
        for index, new_item_status, payment_status in changes:
            if new_item_status is not None:
                item_status[index] = new_item_status
            if payment_status is not None:
                order.pay_status[index] = payment_status

    # --- address changes (while CREATED) --------------------------------------------
    def _address_change(self, at: int, book: SellerBook, order: SimOrder) -> None:
        if order.terminal or order.status != "CREATED":
            return
        instant = self._instant(at, ADDRESS_CHANGE, book, order, order)
        if instant is None:
            return
        rng = book.rng
        country = country_of(order.billing)
        billing = shipping = buyer = None
        r = rng.random()
        if r < 0.35:  # ship elsewhere: same person, another street
            first, last = order.shipping[0], order.shipping[1]
            fresh = new_address(rng, country_of(order.shipping), with_phone=0.2)
            shipping = (first, last or fresh[1]) + fresh[2:]
        elif r < 0.60:  # billing corrected: a company name and VAT id, or a new street
            if rng.random() < 0.5:
                last2 = pick(rng, country.last_names)
                company = pick(rng, COMPANY_FORMS).format(first=order.billing[0], last=order.billing[1], last2=last2)
                billing = order.billing[:8] + (company,)
            else:
                fresh = new_address(rng, country)
                billing = order.billing[:2] + fresh[2:7] + order.billing[7:]
        elif r < 0.80:  # the buyer moved: both addresses
            fresh = new_address(rng, country)
            billing = order.billing[:2] + fresh[2:7] + order.billing[7:]
            shipping = order.billing[:2] + fresh[2:7] + (None, order.billing[8])
        else:  # buyer details: a new e-mail address, sometimes a VAT id
            vat = vat_id(rng, country) if rng.random() < 0.3 else order.buyer[1]
            buyer = (email_for(rng, order.billing[0], order.billing[1]), vat)
        book.emit(ADDRESS, instant, order, (billing, shipping, buyer))
        if billing is not None:
            order.billing = billing
        if shipping is not None:
            order.shipping = shipping
        if buyer is not None:
            order.buyer = buyer

    # --- cancellation requests and their answers ------------------------------------
    def _open_portal_request(self, at: int, book: SellerBook, order: SimOrder, arg: tuple[str, int, str]) -> None:
        """The seller asked on the seller portal (no event: the channel answers later)."""
        if order.status in ("SHIPPED", "PARTIALLY_SHIPPED"):
            return
        outcome, answer_delay, reason = arg
        rng = book.rng
        request_id = str(_uuid4(rng))
        request = CancelRequest(request_id, order, None, reason, "portal", outcome, at, at + answer_delay)
        self._open(book, request)

    def open_api_request(
        self,
        book: SellerBook,
        order: SimOrder,
        request_id: str,
        items: tuple[tuple[str, Decimal], ...] | None,
        cancel_reason: str,
        now_ms: int,
        delay_ms: int,
    ) -> CancelRequest:
        request = CancelRequest(request_id, order, items, cancel_reason, "api", None, now_ms, now_ms + delay_ms)
        self._open(book, request)
        return request

    def _open(self, book: SellerBook, request: CancelRequest) -> None:
        order = request.order
        book.requests[request.request_id] = request
        order.open_requests += 1
        order.frozen_until = max(order.frozen_until, request.answer_ms)
        self.push(request.answer_ms, ANSWER, book, request)

    def _answer(self, at: int, book: SellerBook, request: CancelRequest) -> None:
        order = request.order
        instant = self._instant(at, ANSWER, book, request, order)
        if instant is None:
            return
        order.open_requests -= 1
        if request.source == "portal":
            decision = self._decide_portal(book, order, request)
        else:
            decision = self._decide_api(book, order, request, self.cancel_accept_probability)
        accepted, items, reason = decision
        if accepted:
            wire_items = None if items is None else tuple((order.lines[i].item_id, decimal_text(q)) for i, q in items)
            book.emit(CANCEL_ACCEPTED, instant, order, (request.request_id, wire_items, request.cancel_reason))
            if items is None:
                order.cancel_all()
            else:
                for index, quantity in items:
                    order.add_cancelled(index, quantity)
            request.state = "ACCEPTED"
        else:
            book.emit(CANCEL_DENIED, instant, order, (request.request_id, reason))
            request.state = "DENIED"
            request.reason = reason
        if order.answered is None:
            order.answered = {}
        order.answered[request.request_id] = request

    @staticmethod
    def _with_shipping_if_nothing_left(order: SimOrder, items: list[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
        """When every ITEM line ends fully cancelled, the channel cancels the shipping line too."""
        after = {i: order.remaining(i) for i in range(len(order.lines))}
        for index, quantity in items:
            after[index] -= quantity
        if all(after[i] == 0 for i, line in enumerate(order.lines) if line.type == "ITEM"):
            items = items + [
                (i, after[i]) for i, line in enumerate(order.lines) if line.type == "SHIPPING" and after[i] > 0
            ]
        return items

    def _decide_portal(
        self, book: SellerBook, order: SimOrder, request: CancelRequest
    ) -> tuple[bool, list[tuple[int, Decimal]] | None, str | None]:
        rng = book.rng
        if order.terminal:
            return False, None, "Order is already cancelled."
        if request.outcome == "deny":
            return False, None, pick(rng, DENIAL_REASONS)
        if request.outcome == "partial":
            open_items = [
                i
                for i, line in enumerate(order.lines)
                if line.type == "ITEM" and order.item_status[i] == "UNSHIPPED" and order.remaining(i) > 0
            ]
            if len(open_items) >= 2:
                index = pick(rng, open_items)
                return True, [(index, order.remaining(index))], None
            if len(open_items) == 1 and order.remaining(open_items[0]) >= 2:
                index = open_items[0]
                whole_units = int(order.remaining(index)) - 1
                return True, [(index, Decimal(rng.randint(1, whole_units)))], None
        return True, None, None  # the whole order

    def _decide_api(
        self, book: SellerBook, order: SimOrder, request: CancelRequest, accept_probability: float
    ) -> tuple[bool, list[tuple[int, Decimal]] | None, str | None]:
        rng = book.answers_rng
        if order.terminal:
            return False, None, "Order is already cancelled."
        if request.items is None:
            if any(status == "SHIPPED" for status in order.item_status):
                return False, None, "Order has already been shipped."
            if rng.random() < accept_probability:
                return True, None, None
            return False, None, pick(rng, DENIAL_REASONS)
        wanted: dict[int, Decimal] = {}
        for item_id, quantity in request.items:
            index = order.index_of(item_id)
            if index is None:
                return False, None, f"Unknown order item {item_id}."
            if order.item_status[index] == "SHIPPED":
                return False, None, f"Order item {item_id} has already been shipped."
            wanted[index] = wanted.get(index, Decimal(0)) + quantity
        items = [(i, min(q, order.remaining(i))) for i, q in sorted(wanted.items()) if order.remaining(i) > 0]
        if not items:
            return False, None, "Nothing left to cancel."
        if rng.random() >= accept_probability:
            return False, None, pick(rng, DENIAL_REASONS)
        return True, self._with_shipping_if_nothing_left(order, items), None


def _uuid4(rng: Any) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)
