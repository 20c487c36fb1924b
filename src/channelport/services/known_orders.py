"""The orders one sync has read or written, kept so that the next page need not read them again.

During a backfill most events change an order that an earlier page of the same sync
created: reading it back (the order row, its items, its cancellation answers) was the
largest single item of the sync's profile. A sync holds its account's lease, so nothing
else writes these orders meanwhile, and `OrderState` is immutable, so a kept state can
be shared safely. The engine remembers states only after their transaction committed;
a rolled-back page leaves the cache as it was, matching the database.

The cache is bounded (least recently used out first) so memory stays flat however long
the backfill is; an order that fell out is simply read from the database again. The
bound counts an order and each of its items (about 0.45 KB each, with equal lines and
amounts shared: domain/shared.py), so a shop with large orders keeps fewer of them, not
more memory. The bound is the setting `CHANNELPORT_ORDER_CACHE`; 0 keeps nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from channelport.domain.order import OrderState

def weight(state: OrderState) -> int:
    return 1 + len(state.lines)


class KnownOrders:
    """Committed order states of one account by order id, with their primary keys."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.weight = 0
        self._orders: OrderedDict[str, tuple[int, OrderState]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._orders)

    def take(self, order_ids: Iterable[str]) -> tuple[dict[str, tuple[int, OrderState]], set[str]]:
        """The kept orders among `order_ids`, and the ids to read from the database."""
        found: dict[str, tuple[int, OrderState]] = {}
        missing: set[str] = set()
        orders = self._orders
        for order_id in order_ids:
            kept = orders.get(order_id)
            if kept is None:
                missing.add(order_id)
            else:
                orders.move_to_end(order_id)
                found[order_id] = kept
        self.hits += len(found)
        self.misses += len(missing)
        return found, missing

    def remember(self, orders: Mapping[str, tuple[int, OrderState]]) -> None:
        """Keep these committed states, replacing older ones of the same orders."""
        kept = self._orders
        for order_id, entry in orders.items():
            old = kept.get(order_id)
            if old is not None:
                self.weight -= weight(old[1])
            kept[order_id] = entry
            kept.move_to_end(order_id)
            self.weight += weight(entry[1])
        while self.weight > self.limit and kept:
            _order_id, (_pk, state) = kept.popitem(last=False)
            self.weight -= weight(state)
