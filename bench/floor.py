"""The floor: the same feed's rows inserted with one `executemany` per table, one transaction.

No HTTP, no validation, no domain rules, no reads: the database's own limit for
writing what a backfill of this feed writes. The feed is generated in this process by
the same simulator code with the same arguments as `simserver.py`, so it is the same
feed; building the rows is not timed, only the transaction is.

Rows, into Channelport's own tables (created by `channelport init`, same indexes and
constraints, same SQLite pragmas as Channelport's engine):
- `received_events`: one row per event (raw payload as JSON text, outcome "applied");
- `orders`: one row per `Channel:Order.New` (the order as created; JSON buyer/addresses);
- `order_items`: one row per item line of each new order;
- `cancellation_requests`: one row per cancellation answer (accepted or denied);
- `order_history`: one row per status, address and cancellation event.
Channelport also updates `orders`/`order_items` for every status change and writes a
history row per changed part; the floor inserts only, so it is a lower bound.

Prints one JSON line: {"seconds", "events", "rows": {table: count}, "seconds_by_table": {...}}.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.engine import make_url

from channelport.simulator import Marketplace
from channelport.simulator.wire import UTC

EVENT_TYPE = {
    "Channel:Order.New": "order",
    "Channel:Order.StatusUpdate": "status",
    "Channel:Order.AddressUpdate": "address",
    "Channel:Order.CancellationAccepted": "cancellation_accepted",
    "Channel:Order.CancellationDenied": "cancellation_denied",
}
PART = {"status": "status", "address": "address", "cancellation_accepted": "cancellation", "cancellation_denied": "cancellation"}


def feed(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The simulator's event log, exactly as `simserver.py` would serve it."""
    seller_id, _, token = args.seller.partition(":")
    start = datetime.fromisoformat(args.start.replace("Z", "+00:00")).astimezone(UTC)
    market = Marketplace(seed=args.seed, start=start, sellers={seller_id: token}, orders_per_day=0.0)
    market.generate(orders=args.orders, days=args.days)
    market.advance(timedelta(days=args.settle_days))
    return market.event_log(seller_id)


def build_rows(log: list[dict[str, Any]], account_id: int, stamp: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Row tuples per table; `stamp` turns an aware datetime into the driver's value."""
    now = stamp(datetime.now(timezone.utc))
    received, orders, items, cancellations, history = [], [], [], [], []
    order_pk: dict[str, int] = {}
    for number, entry in enumerate(log, start=1):
        payload = entry["event"]
        event_type = EVENT_TYPE[entry["type"]]
        created = stamp(datetime.fromisoformat(entry["createdAt"]))
        order_id = payload["orderId"]
        event_id = f"ev-{number}"
        raw = {"id": event_id, "type": entry["type"], "createdAt": entry["createdAt"], "event": payload}
        received.append((account_id, event_id, entry["type"], event_type, order_id, created, now, "applied", None,
                         json.dumps(raw, separators=(",", ":"), ensure_ascii=False), None, None))
        if event_type == "order":
            pk = order_pk[order_id] = len(order_pk) + 1
            purchased = stamp(datetime.fromisoformat(payload["purchasedAt"]))
            orders.append((pk, account_id, order_id, payload["sellerId"], payload["orderStatus"], payload["orderStatus"],
                           purchased, stamp(datetime.fromisoformat(payload["lastChangedAt"])), payload["currency"],
                           payload.get("paymentMethod"), _json(payload.get("buyer")),
                           _json(payload.get("billingAddress")), _json(payload.get("shippingAddress")),
                           purchased, purchased, purchased, purchased, now, now))
            for position, line in enumerate(payload["orderItem"]):
                items.append((pk, position, line["orderItemId"], line["type"], line.get("sku"), line.get("title"),
                              line["quantity"], line["grossPrice"], line["total"], line["taxPercent"],
                              line["itemStatus"], line["itemPaymentStatus"], "0", purchased, purchased))
            continue
        pk = order_pk[order_id]  # the feed is in createdAt order: the order came first
        if event_type.startswith("cancellation"):
            state = "ACCEPTED" if event_type == "cancellation_accepted" else "DENIED"
            cancellations.append((account_id, pk, payload["orderCancellationRequestId"], state,
                                  payload.get("cancelReason"), payload.get("reason"), created))
        history.append((pk, event_id, event_type, created, PART[event_type], None, _json(payload), now))
    return {"received_events": received, "orders": orders, "order_items": items,
            "cancellation_requests": cancellations, "order_history": history}


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


STATEMENTS = {
    "orders": "INSERT INTO orders (id, account_id, order_id, seller_id, status, shown_status, purchased_at, "
              "last_changed_at, currency, payment_method, buyer, billing_address, shipping_address, status_at, "
              "billing_at, shipping_at, buyer_at, imported_at, updated_at) VALUES ({})",
    "order_items": "INSERT INTO order_items (order_pk, position, order_item_id, type, sku, title, quantity, gross_price, "
                   "total, tax_percent, item_status, payment_status, cancelled_quantity, status_at, payment_at) VALUES ({})",
    "cancellation_requests": "INSERT INTO cancellation_requests (account_id, order_pk, request_id, state, cancel_reason, "
                             "reason, created_at) VALUES ({})",
    "order_history": "INSERT INTO order_history (order_pk, event_id, event_type, created_at, part, before, after, "
                     "recorded_at) VALUES ({})",
    "received_events": "INSERT INTO received_events (account_id, event_id, wire_type, event_type, order_id, created_at, "
                       "received_at, outcome, reason, raw, normalized, sync_run_id) VALUES ({})",
}


def _sql(table: str, rows: list[tuple[Any, ...]], mark: str) -> str:
    return STATEMENTS[table].format(", ".join([mark] * len(rows[0])))


def insert_sqlite(path: str, rows: dict[str, list[tuple[Any, ...]]], split: dict[str, float]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):  # as Channelport's engine
        connection.execute(f"PRAGMA {pragma}")
    account_id = connection.execute("SELECT id FROM channel_accounts").fetchone()[0]
    assert account_id == 1
    began = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    for table, table_rows in rows.items():
        if table_rows:
            mark = time.perf_counter()
            connection.executemany(_sql(table, table_rows, "?"), table_rows)
            split[table] = time.perf_counter() - mark
    mark = time.perf_counter()
    connection.execute("COMMIT")
    split["commit"] = time.perf_counter() - mark
    seconds = time.perf_counter() - began
    connection.close()
    return seconds


def insert_postgresql(conninfo: str, rows: dict[str, list[tuple[Any, ...]]], split: dict[str, float]) -> float:
    import psycopg

    with psycopg.connect(conninfo) as connection:
        began = time.perf_counter()
        with connection.transaction(), connection.cursor() as cursor:
            for table, table_rows in rows.items():
                if table_rows:
                    mark = time.perf_counter()
                    cursor.executemany(_sql(table, table_rows, "%s"), table_rows)
                    split[table] = time.perf_counter() - mark
            if rows["orders"]:  # explicit ids: move the sequence past them, as a real load must
                cursor.execute("SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))")
            mark = time.perf_counter()
        split["commit"] = time.perf_counter() - mark
        return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="the SQLAlchemy URL `channelport init` used")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seller", default="S-BENCH:bench-token")
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--settle-days", type=float, default=28.0)
    parser.add_argument("--start", required=True)
    args = parser.parse_args()

    log = feed(args)
    url = make_url(args.database_url)
    split: dict[str, float] = {}
    if url.get_backend_name() == "sqlite":
        rows = build_rows(log, 1, lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))
        del log
        seconds = insert_sqlite(url.database or "", rows, split)
    else:
        rows = build_rows(log, 1, lambda d: d.astimezone(timezone.utc))
        del log
        options = url.query.get("options")
        conninfo = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
        if options:
            conninfo += "?options=" + (options if isinstance(options, str) else options[0]).replace("=", "%3D")
        seconds = insert_postgresql(conninfo, rows, split)
    print(json.dumps({
        "seconds": round(seconds, 3),
        "events": len(rows["received_events"]),
        "rows": {table: len(table_rows) for table, table_rows in rows.items()},
        "seconds_by_table": {name: round(value, 3) for name, value in split.items()},
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
