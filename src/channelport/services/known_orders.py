"""The orders one sync has read or written, kept so that the next page need not read them again.

During a backfill most events change an order that an earlier page of the same sync
created: reading it back (the order row, its items, its cancellation answers) was the
largest single item of the sync's profile. A sync holds its account's lease, so nothing
else writes these orders meanwhile, and `OrderState` is immutable, so a kept state can
be shared safely. The engine remembers states only after their transaction committed;
a rolled-back page leaves the cache as it was, matching the database.

The cache has a bound, so its memory stops growing however long the backfill is; an
order that fell out is simply read from the database again. The bound counts an order
and each of its items (about 0.45 KB each, with equal lines and amounts shared:
domain/shared.py), so a shop with large orders keeps fewer of them, not more memory.
The bound is the setting `CHANNELPORT_ORDER_CACHE`; 0 keeps nothing.

When it is full, finished orders (shipped or cancelled) leave first, least recently used
first, and only then live ones: a live order's next status step is on its way, while most
finished orders never hear from the channel again (a return, a late answer to a
cancellation request). With the default bound and 100,000 orders, least recently used
alone looked 158,918 orders up in the database (100,000 of them new ones); finished
first, 109,247 (bench/README.md, session 11).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from channelport.domain.order import OrderState

FINISHED = frozenset({"SHIPPED", "CANCELED_BY_SELLER", "CANCELED_BY_BUYER"})  # shown statuses


def weight(state: OrderState) -> int:
    return 1 + len(state.lines)


def finished(state: OrderState) -> bool:
    return state.shown_status in FINISHED


class KnownOrders:
    """Committed order states of one account by order id, with their primary keys."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.weight = 0
        self._live: OrderedDict[str, tuple[int, OrderState]] = OrderedDict()  # least recently used first
        self._finished: OrderedDict[str, tuple[int, OrderState]] = OrderedDict()  # out first when full
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._live) + len(self._finished)

    def take(self, order_ids: Iterable[str]) -> tuple[dict[str, tuple[int, OrderState]], set[str]]:
        """The kept orders among `order_ids`, and the ids to read from the database."""
        found: dict[str, tuple[int, OrderState]] = {}
        missing: set[str] = set()
        for order_id in order_ids:
            segment = self._live if order_id in self._live else self._finished
            kept = segment.get(order_id)
            if kept is None:
                missing.add(order_id)
            else:
                segment.move_to_end(order_id)
                found[order_id] = kept
        self.hits += len(found)
        self.misses += len(missing)
        return found, missing

    def remember(self, orders: Mapping[str, tuple[int, OrderState]]) -> None:
        """Keep these committed states, replacing older ones of the same orders."""
        live, done = self._live, self._finished
        for order_id, entry in orders.items():
            old = live.pop(order_id, None) or done.pop(order_id, None)
            if old is not None:
                self.weight -= weight(old[1])
            (done if finished(entry[1]) else live)[order_id] = entry
            self.weight += weight(entry[1])
        while self.weight > self.limit and (done or live):
            _order_id, (_pk, state) = (done or live).popitem(last=False)
            self.weight -= weight(state)
