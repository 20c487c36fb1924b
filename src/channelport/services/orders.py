"""Order queries and the stable export (DESIGN.md "Export format")."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channelport.domain.export import order_export
from channelport.errors import NotFound
from channelport.services.accounts import account_or_fail
from channelport.services.runtime import Runtime
from channelport.store import orders as repo
from channelport.store.db import read_only

CSV_COLUMNS = [
    "account", "orderId", "orderStatus", "currency", "purchasedAt", "paymentMethod", "buyerEmail",
    "shippingLastName", "shippingCity", "shippingCountry", "orderItemId", "type", "sku", "quantity",
    "cancelledQuantity", "grossPrice", "total", "taxPercent", "itemStatus", "itemPaymentStatus",
]


def export_orders(rt: Runtime, *, accounts: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every order in the export format, sorted by account name then orderId, streamed."""
    with read_only(rt.engine) as conn:
        chosen = sorted(
            (account_or_fail(conn, name) for name in accounts) if accounts else _all_accounts(conn),
            key=lambda a: a.name,
        )
        for account in chosen:
            for _account_id, state in repo.iter_orders(conn, account_ids=[account.id]):
                yield order_export(account.name, state)


def csv_lines(orders: Iterator[dict[str, Any]]) -> Iterator[str]:
    """One row per order item, with the order's columns repeated: what spreadsheets want."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    for order in orders:
        shipping = order.get("shippingAddress") or {}
        buyer = order.get("buyer") or {}
        for item in order["orderItem"]:
            writer.writerow(
                [order[k] for k in CSV_COLUMNS[:6]]
                + [buyer.get("email"), shipping.get("lastName"), shipping.get("city"), shipping.get("country")]
                + [item[k] for k in CSV_COLUMNS[10:]]
            )
        yield _drain(buffer)


@dataclass(frozen=True)
class OrderDetail:
    account: str
    timezone: str
    export: dict[str, Any]
    history: list[dict[str, Any]]
    imported_at: datetime


def show_order(rt: Runtime, *, account: str, order_id: str) -> OrderDetail:
    with read_only(rt.engine) as conn:
        acc = account_or_fail(conn, account)
        found = repo.find_order(conn, acc.id, order_id)
        if found is None:
            raise NotFound(f"no order {order_id!r} in account {account!r}")
        pk, state = found
        history = [
            {
                "at": row.created_at,
                "event": row.event_type,
                "eventId": row.event_id,
                "part": row.part,
                "before": row.before,
                "after": row.after,
            }
            for row in repo.history_of(conn, pk)
        ]
        return OrderDetail(acc.name, acc.timezone, order_export(acc.name, state), history, repo.imported_at(conn, pk))


def list_orders(
    rt: Runtime,
    *,
    account: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Any]:
    with read_only(rt.engine) as conn:
        account_id = account_or_fail(conn, account).id if account else None
        return repo.list_order_rows(
            conn, account_id=account_id, status=status, since=since, until=until, limit=limit, offset=offset
        )


def _all_accounts(conn: Any) -> list[Any]:
    from channelport.store.accounts import list_accounts

    return list_accounts(conn)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
