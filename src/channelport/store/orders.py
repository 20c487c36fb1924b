"""Orders, their items, cancellation answers and history: load and store `OrderState`s.

The sync engine works a batch at a time, so everything here takes and returns many
orders per call: a handful of statements per batch instead of several per event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from channelport.domain.events import Address, Buyer, OrderLine
from channelport.domain.money import decimal_text
from channelport.domain.order import CancellationState, LineState, OrderState
from channelport.domain.shared import Shared, shared_shipping
from channelport.store.bulk import Bulk, chunks
from channelport.store.tables import cancellation_requests, channel_accounts, order_history, order_items, orders
from channelport.store.types import read_instant


@dataclass(frozen=True, slots=True)
class HistoryRow:
    order_id: str
    event_id: str
    event_type: str
    created_at: datetime
    part: str
    before: Any
    after: Any


def load_orders(conn: Connection, account_id: int, order_ids: Iterable[str]) -> dict[str, tuple[int, OrderState]]:
    """The stored orders among `order_ids`, with their primary keys."""
    bulk = Bulk(conn)
    return _assemble(bulk, bulk.fetch_in(f"SELECT {_ORDER_READ_SQL} FROM orders", account_id, "order_id", order_ids))


def iter_orders(
    conn: Connection, *, account_ids: Sequence[int] | None = None, chunk: int = 1000
) -> Iterator[tuple[int, OrderState]]:
    """Every order, by account id and order id, in chunks so that memory stays flat."""
    bulk = Bulk(conn)
    last: tuple[int, str] = (-1, "")
    while True:
        query = select(orders.c.account_id, orders.c.order_id, orders.c.id).order_by(
            orders.c.account_id, orders.c.order_id).limit(chunk)
        if account_ids is not None:
            query = query.where(orders.c.account_id.in_(account_ids))
        query = query.where(
            (orders.c.account_id > last[0]) | and_(orders.c.account_id == last[0], orders.c.order_id > last[1])
        )
        keys = list(conn.execute(query))
        if not keys:
            return
        pks = [key.id for key in keys]
        assembled = _assemble(bulk, bulk.fetch(
            f"SELECT {_ORDER_READ_SQL} FROM orders WHERE id IN ({bulk.marks(len(pks))})", pks))
        by_pk = {pk: state for pk, state in assembled.values()}
        for key in keys:
            yield key.account_id, by_pk[key.id]
        last = (keys[-1].account_id, keys[-1].order_id)


def insert_orders(conn: Connection, account_id: int, states: Sequence[OrderState], *, now: datetime) -> dict[str, int]:
    if not states:
        return {}
    bulk = Bulk(conn)
    bulk.insert(orders, ORDER_COLUMNS, [_order_row(bulk, account_id, state, now) for state in states])
    pks = dict(bulk.fetch_in("SELECT order_id, id FROM orders", account_id, "order_id",
                             [state.order_id for state in states]))
    instant = bulk.maybe_instant
    bulk.insert(
        order_items,
        ITEM_COLUMNS,
        [
            (
                pks[state.order_id], position, line.line.order_item_id, line.line.type, line.line.sku,
                line.line.title, decimal_text(line.line.quantity), decimal_text(line.line.gross_price),
                decimal_text(line.line.total), decimal_text(line.line.tax_percent), line.item_status,
                line.payment_status, decimal_text(line.cancelled_quantity), instant(line.status_at),
                instant(line.payment_at),
            )
            for state in states
            for position, line in enumerate(state.lines)
        ],
    )
    _insert_cancellations(conn, account_id, [(pks[s.order_id], c) for s in states for c in s.cancellations])
    return pks


def update_orders(
    conn: Connection, account_id: int, changed: Sequence[tuple[int, OrderState, OrderState]], *, now: datetime
) -> None:
    """Store new states of known orders: the order row, changed items, new cancellations."""
    if not changed:
        return
    # Most changes are status changes: write the address columns (JSON) only where they moved.
    bulk = Bulk(conn)
    instant = bulk.maybe_instant
    updated_at = bulk.instant(now)
    bulk.update(
        orders,
        ("status", "shown_status", "last_changed_at", "status_at", "updated_at"),
        ("id",),
        [
            (new.status, new.shown_status, instant(new.last_changed_at), instant(new.status_at), updated_at, pk)
            for pk, _old, new in changed
        ],
    )
    bulk.update(
        orders,
        (*ORDER_FIELDS, "updated_at"),
        ("id",),
        [(*_order_fields(bulk, new), updated_at, pk) for pk, old, new in changed if _addresses_moved(old, new)],
    )
    bulk.update(
        order_items,
        ("item_status", "payment_status", "cancelled_quantity", "status_at", "payment_at"),
        ("order_pk", "position"),
        [
            (
                line.item_status, line.payment_status, decimal_text(line.cancelled_quantity),
                instant(line.status_at), instant(line.payment_at), pk, position,
            )
            for pk, old, new in changed
            for position, line in enumerate(new.lines)
            if old.lines[position] != line
        ],
    )
    new_cancellations = []
    for pk, old, new in changed:
        known = {c.request_id for c in old.cancellations}
        new_cancellations.extend((pk, c) for c in new.cancellations if c.request_id not in known)
    _insert_cancellations(conn, account_id, new_cancellations)


def _addresses_moved(old: OrderState, new: OrderState) -> bool:
    return (
        old.billing_at != new.billing_at
        or old.shipping_at != new.shipping_at
        or old.buyer_at != new.buyer_at
        or old.billing_address != new.billing_address
        or old.shipping_address != new.shipping_address
        or old.buyer != new.buyer
    )


def insert_history(conn: Connection, pks: dict[str, int], rows: Sequence[HistoryRow], *, now: datetime) -> None:
    bulk = Bulk(conn)
    recorded_at = bulk.instant(now)
    bulk.insert(
        order_history,
        ("order_pk", "event_id", "event_type", "created_at", "part", "before", "after", "recorded_at"),
        [
            (
                pks[row.order_id], row.event_id, row.event_type, bulk.instant(row.created_at), row.part,
                bulk.json(row.before), bulk.json(row.after), recorded_at,
            )
            for row in rows
        ],
    )


def history_of(conn: Connection, order_pk: int) -> list[Any]:
    return list(
        conn.execute(
            select(order_history).where(order_history.c.order_pk == order_pk).order_by(order_history.c.id)
        )
    )


def find_order(conn: Connection, account_id: int, order_id: str) -> tuple[int, OrderState] | None:
    return load_orders(conn, account_id, [order_id]).get(order_id)


def imported_at(conn: Connection, order_pk: int) -> datetime:
    return conn.scalar(select(orders.c.imported_at).where(orders.c.id == order_pk))


def count_orders(conn: Connection, account_id: int) -> int:
    return int(conn.scalar(select(func.count()).select_from(orders).where(orders.c.account_id == account_id)) or 0)


def list_order_rows(
    conn: Connection,
    *,
    account_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Any]:
    query = (
        select(orders, channel_accounts.c.name.label("account"), channel_accounts.c.timezone)
        .join(channel_accounts, channel_accounts.c.id == orders.c.account_id)
        .order_by(orders.c.purchased_at.desc(), orders.c.order_id)
        .limit(limit)
        .offset(offset)
    )
    if account_id is not None:
        query = query.where(orders.c.account_id == account_id)
    if status:
        query = query.where(orders.c.shown_status == status)
    if since:
        query = query.where(orders.c.purchased_at >= since)
    if until:
        query = query.where(orders.c.purchased_at < until)
    return list(conn.execute(query))


# --- rows <-> values ------------------------------------------------------------------


ORDER_READ = (
    "id", "order_id", "seller_id", "status", "purchased_at", "last_changed_at", "currency", "payment_method", "buyer",
    "billing_address", "shipping_address", "status_at", "billing_at", "shipping_at", "buyer_at",
)
ITEM_READ = (
    "order_pk", "order_item_id", "type", "sku", "title", "quantity", "gross_price", "total", "tax_percent",
    "item_status", "payment_status", "cancelled_quantity", "status_at", "payment_at",
)
_ORDER_READ_SQL = ", ".join(ORDER_READ)
_ITEM_READ_SQL = ", ".join(f'"{c}"' for c in ITEM_READ)


def _assemble(bulk: Bulk, rows: Sequence[Any]) -> dict[str, tuple[int, OrderState]]:
    """`OrderState`s from order rows in `ORDER_READ` order, with their items and cancellation answers.

    Read straight from the driver: a backfill reads back thousands of orders and items
    per page, and SQLAlchemy's per-value result processing was most of that. Equal
    values come back as one object (domain/shared.py): instants within the call, lines
    across calls, so a read-back order is as small as one built from the wire.
    """
    if not rows:
        return {}
    pks = [row[0] for row in rows]
    instant = _Instants()
    lines: dict[int, list[LineState]] = defaultdict(list)
    cancels: dict[int, list[CancellationState]] = defaultdict(list)
    for chunk in chunks(pks):
        for item in bulk.fetch(
            f"SELECT {_ITEM_READ_SQL} FROM order_items WHERE order_pk IN ({bulk.marks(len(chunk))}) "
            "ORDER BY order_pk, position",
            chunk,
        ):
            lines[item[0]].append(_line_state(item, instant))
        for c in bulk.conn.execute(
            select(cancellation_requests).where(cancellation_requests.c.order_pk.in_(chunk)).order_by(
                cancellation_requests.c.request_id
            )
        ):
            cancels[c.order_pk].append(
                CancellationState(c.request_id, c.state, c.created_at, c.cancel_reason, c.reason)
            )
    return {row[1]: (row[0], _order_state(bulk, row, lines[row[0]], cancels[row[0]], instant)) for row in rows}


class _Instants(dict[Any, Any]):
    """Stored instants read once per text: an order's instants are mostly the same few."""

    def __call__(self, value: Any) -> datetime | None:
        got = self.get(value)
        if got is None:
            got = self[value] = read_instant(value)
        return got


def _order_state(
    bulk: Bulk, row: Any, lines: list[LineState], cancels: list[CancellationState], instant: _Instants
) -> OrderState:
    (_pk, order_id, seller_id, status, purchased_at, last_changed_at, currency, payment_method, buyer,
     billing_address, shipping_address, status_at, billing_at, shipping_at, buyer_at) = row
    read_json = bulk.read_json
    buyer, billing_address, shipping_address = read_json(buyer), read_json(billing_address), read_json(shipping_address)
    billing = Address(**billing_address) if billing_address is not None else None
    shipping = Address(**shipping_address) if shipping_address is not None else None
    return OrderState(
        order_id=order_id,
        seller_id=seller_id,
        status=status,
        purchased_at=instant(purchased_at),
        last_changed_at=instant(last_changed_at),
        currency=currency,
        lines=tuple(lines),
        status_at=instant(status_at),
        billing_at=instant(billing_at),
        shipping_at=instant(shipping_at),
        buyer_at=instant(buyer_at),
        payment_method=payment_method,
        buyer=Buyer(**buyer) if buyer is not None else None,
        billing_address=billing,
        shipping_address=shared_shipping(billing, shipping),
        cancellations=tuple(cancels),
    )


_STORED_LINES: Shared[tuple[Any, ...], OrderLine] = Shared(10_000)  # by the stored texts (spelling kept); ~1 KB each
_QUANTITIES: Shared[str, Decimal] = Shared(1_000)


def _line_state(item: Any, instant: _Instants) -> LineState:
    (_pk, order_item_id, type_, sku, title, quantity, gross_price, total, tax_percent, item_status, payment_status,
     cancelled_quantity, status_at, payment_at) = item
    key = item[1:11]
    line = _STORED_LINES.get(key)
    if line is None:
        line = _STORED_LINES.keep(key, OrderLine(
            order_item_id=order_item_id,
            type=type_,
            quantity=Decimal(quantity),
            gross_price=Decimal(gross_price),
            total=Decimal(total),
            tax_percent=Decimal(tax_percent),
            item_status=item_status,  # only the current value survives storage
            item_payment_status=payment_status,
            sku=sku,
            title=title,
        ))
    cancelled = _QUANTITIES.get(cancelled_quantity)
    if cancelled is None:
        cancelled = _QUANTITIES.keep(cancelled_quantity, Decimal(cancelled_quantity))
    return LineState(
        line=line,
        item_status=item_status,
        payment_status=payment_status,
        cancelled_quantity=cancelled,
        status_at=instant(status_at),
        payment_at=instant(payment_at),
    )


ORDER_FIELDS = (  # what an OrderState sets; a new row adds the account, imported_at and updated_at
    "order_id", "seller_id", "status", "shown_status", "purchased_at", "last_changed_at", "currency",
    "payment_method", "buyer", "billing_address", "shipping_address", "status_at", "billing_at", "shipping_at",
    "buyer_at",
)
ORDER_COLUMNS = ("account_id", *ORDER_FIELDS, "imported_at", "updated_at")
ITEM_COLUMNS = (
    "order_pk", "position", "order_item_id", "type", "sku", "title", "quantity", "gross_price", "total",
    "tax_percent", "item_status", "payment_status", "cancelled_quantity", "status_at", "payment_at",
)


def _order_row(bulk: Bulk, account_id: int, state: OrderState, now: datetime) -> tuple[Any, ...]:
    """The `ORDER_COLUMNS` of a new order, converted for the driver."""
    stamp = bulk.instant(now)
    return (account_id, *_order_fields(bulk, state), stamp, stamp)


def _order_fields(bulk: Bulk, state: OrderState) -> tuple[Any, ...]:
    """The `ORDER_FIELDS` of a state, converted for the driver."""
    instant = bulk.instant
    return (
        state.order_id, state.seller_id, state.status, state.shown_status, instant(state.purchased_at),
        instant(state.last_changed_at), state.currency, state.payment_method,
        bulk.json(_fields(state.buyer, BUYER_FIELDS)), bulk.json(_fields(state.billing_address, ADDRESS_FIELDS)),
        bulk.json(_fields(state.shipping_address, ADDRESS_FIELDS)), instant(state.status_at),
        instant(state.billing_at), instant(state.shipping_at), instant(state.buyer_at),
    )


ADDRESS_FIELDS = tuple(f.name for f in fields(Address))
BUYER_FIELDS = tuple(f.name for f in fields(Buyer))


def _fields(value: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
    """A flat dataclass as a dict; `dataclasses.asdict` deep-copies and was a hot spot."""
    return None if value is None else {name: getattr(value, name) for name in names}


def _insert_cancellations(conn: Connection, account_id: int, items: Sequence[tuple[int, CancellationState]]) -> None:
    if items:
        conn.execute(
            insert(cancellation_requests),
            [
                {
                    "account_id": account_id,
                    "order_pk": pk,
                    "request_id": c.request_id,
                    "state": c.state,
                    "cancel_reason": c.cancel_reason,
                    "reason": c.reason,
                    "created_at": c.created_at,
                }
                for pk, c in items
            ],
        )
