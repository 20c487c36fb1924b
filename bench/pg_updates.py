"""PostgreSQL: three ways to update a page's rows, alone and beside a busy Python thread.

The sync writes a page on a thread of its own while the storing thread decides the next
page in Python (services/sync.py, `_Writer`). A thread that waits for the server must win
the interpreter lock back afterwards, which beside a busy thread takes up to a switch
interval each time; so the number of waits per batch matters as much as the server's
work. This measures, on a scratch table shaped like `orders` (bench/README.md, session 13):

- `executemany`: psycopg's pipelined executemany, one UPDATE per row (before session 13);
- `unnest`: one UPDATE over an array per column;
- `staged`: a binary COPY into a temporary table, then one UPDATE joined to it
  (`store.bulk.Bulk.update` since session 13).

    python bench/pg_updates.py                      # alone, then beside a busy thread
    python bench/pg_updates.py --switch-interval 0.0005

Prints ms per transaction of `--rows` updates, per way, for `--transactions` each, and
the staged UPDATE's plan. The scratch table lives in a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

Row = tuple[str, str, datetime, datetime, datetime, int]
KINDS = ["text", "text", "timestamptz", "timestamptz", "timestamptz", "int8"]
SETS = "status = v.s, shown_status = v.ss, last_changed_at = v.l, status_at = v.sa, updated_at = v.u"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_PG_DSN", "host=127.0.0.1 user=postgres dbname=test"),
                        help="a libpq connection string (default: the test database on 127.0.0.1)")
    parser.add_argument("--table-rows", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=700, help="rows per transaction (a page's order updates)")
    parser.add_argument("--transactions", type=int, default=40)
    parser.add_argument("--switch-interval", type=float, help="seconds (sys.setswitchinterval); default: Python's")
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    schema = f"bench_updates_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        try:
            now = _fill(conn, args.table_rows)
            ways: dict[str, Callable[[psycopg.Cursor[Any], Sequence[Row]], None]] = {
                "executemany": _executemany, "unnest": _unnest, "staged": _staged,
            }
            for busy in (False, True):
                with _busy_thread() if busy else contextlib.nullcontext():
                    for name, way in ways.items():
                        ms = _measure(conn, way, now, args)
                        print(f"{'busy' if busy else 'alone':5} {name:12} {ms:7.1f} ms per {args.rows} rows")
            _print_plan(conn, now, args)
        finally:
            conn.rollback()
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.commit()
    return 0


def _fill(conn: psycopg.Connection[Any], count: int) -> datetime:
    conn.execute(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, account_id int NOT NULL, order_id text NOT NULL, "
        "status text, shown_status text, last_changed_at timestamptz, status_at timestamptz, "
        "updated_at timestamptz, purchased_at timestamptz, imported_at timestamptz, "
        "billing_address json, shipping_address json, buyer json, UNIQUE (account_id, order_id))"
    )
    conn.execute("CREATE INDEX ON orders (account_id, purchased_at)")
    conn.execute("CREATE INDEX ON orders (account_id, imported_at)")
    now = datetime.now(timezone.utc)
    address = '{"name":"Erika Mustermann","street":"Hauptstr. 1","zip":"10115","city":"Berlin","country":"DE"}'
    with conn.cursor() as cursor, cursor.copy(
        "COPY orders (account_id, order_id, status, shown_status, last_changed_at, status_at, updated_at, "
        "purchased_at, imported_at, billing_address, shipping_address, buyer) FROM STDIN"
    ) as copy:
        for number in range(count):
            copy.write_row((1, f"O-{number:08d}", "NEW", "NEW", now, now, now, now, now, address, address, address))
    conn.commit()
    conn.execute("ANALYZE orders")
    conn.commit()
    return now


def _measure(conn: psycopg.Connection[Any], way: Callable[[psycopg.Cursor[Any], Sequence[Row]], None],
             now: datetime, args: argparse.Namespace) -> float:
    spent = 0.0
    with conn.cursor() as cursor:
        for _ in range(args.transactions):
            rows = _page(now, args.table_rows, args.rows)
            began = time.perf_counter()
            way(cursor, rows)
            conn.commit()
            spent += time.perf_counter() - began
    return spent / args.transactions * 1000


def _page(now: datetime, table_rows: int, count: int) -> list[Row]:
    """`count` orders of neighbouring hours, as a page's orders are, in random order."""
    start = random.randrange(1, max(2, table_rows - 4 * count))
    at = now + timedelta(seconds=random.random())
    return [("SHIPPED", "SHIPPED", at, at, at, pk) for pk in random.sample(range(start, start + 4 * count), count)]


def _executemany(cursor: psycopg.Cursor[Any], rows: Sequence[Row]) -> None:
    cursor.executemany(
        "UPDATE orders SET status = %s, shown_status = %s, last_changed_at = %s, status_at = %s, "
        "updated_at = %s WHERE id = %s",
        rows,
    )


def _unnest(cursor: psycopg.Cursor[Any], rows: Sequence[Row]) -> None:
    arrays = ", ".join(f"%s::{kind}[]" for kind in KINDS)
    cursor.execute(
        f"UPDATE orders AS t SET {SETS} FROM unnest({arrays}) AS v(s, ss, l, sa, u, id) WHERE t.id = v.id",
        [list(column) for column in zip(*rows)],
    )


def _staged(cursor: psycopg.Cursor[Any], rows: Sequence[Row]) -> None:
    _stage(cursor, rows)
    cursor.execute(f"UPDATE orders AS t SET {SETS} FROM staged AS v WHERE t.id = v.id")


def _stage(cursor: psycopg.Cursor[Any], rows: Sequence[Row]) -> None:
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS staged (s text, ss text, l timestamptz, sa timestamptz, "
        "u timestamptz, id int8) ON COMMIT DELETE ROWS; DELETE FROM staged"
    )
    with cursor.copy("COPY staged FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(KINDS)
        for row in rows:
            copy.write_row(row)


def _print_plan(conn: psycopg.Connection[Any], now: datetime, args: argparse.Namespace) -> None:
    """The plan the server takes for the staged UPDATE: a nested loop over the primary key is the point."""
    with conn.cursor() as cursor:
        _stage(cursor, _page(now, args.table_rows, args.rows))
        cursor.execute(f"EXPLAIN ANALYZE UPDATE orders AS t SET {SETS} FROM staged AS v WHERE t.id = v.id")
        print("\n".join(line for (line,) in cursor.fetchall()))
    conn.rollback()


class _busy_thread:
    """Another thread running pure Python meanwhile, as the storing thread deciding a page does."""

    def __enter__(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def __exit__(self, *exc_info: object) -> None:
        self._stop = True
        self._thread.join()

    def _spin(self) -> None:
        while not self._stop:
            sum(number * number for number in range(1000))


if __name__ == "__main__":
    sys.exit(main())
