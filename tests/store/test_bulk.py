"""Rows written by `Bulk.insert` read back as they were given, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Numeric, select

from channelport.services import accounts
from channelport.store.bulk import Bulk, copy_type
from channelport.store.db import read_only, unit_of_work
from channelport.store.tables import metadata, received_events


def test_every_column_has_a_binary_copy_type() -> None:
    """PostgreSQL's COPY writes binary values by these types: each column's is chosen, none guessed."""
    chosen = {copy_type(column.type) for table in metadata.tables.values() for column in table.columns}
    assert chosen <= {"timestamptz", "bool", "int4", "int8", "text"}
    with pytest.raises(TypeError, match="no binary COPY type"):
        copy_type(Column("amount", Numeric(12, 2)).type)


def test_a_log_row_reads_back_as_it_was_written(rt, clock) -> None:  # type: ignore[no-untyped-def]
    account = accounts.add_account(rt, name="shop", kind="event-api", url="http://127.0.0.1:9/",
                                   seller_id="S-1001", token="t")
    created = datetime(2026, 11, 20, 8, 15, 2, 123456, tzinfo=timezone(timedelta(hours=1)))
    raw = '{"id":"ev-ü","event":{"city":"Köln","note":"✓ \\"quoted\\" \\\\ back"}}'
    normalized = {"city": "Köln", "amounts": ["19.99", None], "deep": {"ok": True}}
    with unit_of_work(rt.engine) as conn:
        bulk = Bulk(conn)
        bulk.insert(
            received_events,
            ("account_id", "event_id", "wire_type", "event_type", "order_id", "created_at", "received_at",
             "outcome", "reason", "raw", "normalized", "sync_run_id", "digest", "repeat_of"),
            [
                (account.id, "ev-ü", "Channel:Order.New", "order", "KL-1", bulk.instant(created),
                 bulk.instant(clock()), "parked", "waits for its order", raw, bulk.json(normalized), None,
                 "d" * 52, None),
                (account.id, "ev-2", "Channel:Order.Future", None, None, None, bulk.instant(clock()),
                 "unknown", None, "{}", None, 7, None, "ev-ü"),
            ],
        )
    with read_only(rt.engine) as conn:
        rows = conn.execute(select(received_events).order_by(received_events.c.event_id)).all()
    first, second = sorted(rows, key=lambda row: row.event_id != "ev-ü")
    assert first.created_at == created and first.created_at.utcoffset() == timedelta(0)
    assert first.received_at == clock()
    assert (first.raw, first.normalized, first.digest, first.sync_run_id) == (raw, normalized, "d" * 52, None)
    assert (second.event_type, second.created_at, second.normalized, second.sync_run_id, second.repeat_of) == (
        None, None, None, 7, "ev-ü")


def test_updated_rows_read_back_as_they_were_given(rt, clock) -> None:  # type: ignore[no-untyped-def]
    """Each kind of column, a column of NULLs only, JSON and two keys; rows not picked stay as they were.

    PostgreSQL updates all rows in one statement joined to a temporary table, so every
    value and every NULL must survive the staging table; SQLite runs one statement a row.
    """
    account = accounts.add_account(rt, name="shop", kind="event-api", url="http://127.0.0.1:9/",
                                   seller_id="S-1001", token="t")
    created = datetime(2026, 11, 20, 8, 15, 2, 123456, tzinfo=timezone.utc)
    columns = ("account_id", "event_id", "wire_type", "created_at", "received_at", "outcome", "raw", "normalized",
               "sync_run_id")
    with unit_of_work(rt.engine) as conn:
        bulk = Bulk(conn)
        bulk.insert(received_events, columns, [
            (account.id, event_id, "Channel:Order.New", bulk.instant(created), bulk.instant(clock()), "parked", "{}",
             bulk.json({"was": event_id}), 1)
            for event_id in ("ev-1", "ev-ü", "ev-3")
        ])
    later = created + timedelta(days=1)
    with unit_of_work(rt.engine) as conn:
        bulk = Bulk(conn)
        bulk.update(
            received_events,
            ("outcome", "reason", "normalized", "created_at", "sync_run_id"),
            ("account_id", "event_id"),
            [
                ("applied", None, bulk.json({"city": "Köln", "n": [1, None]}), bulk.instant(later), 2,
                 account.id, "ev-ü"),
                ("rejected", None, None, None, None, account.id, "ev-3"),
            ],
        )
    with read_only(rt.engine) as conn:
        rows = {row.event_id: row for row in conn.execute(select(received_events))}
    assert (rows["ev-ü"].outcome, rows["ev-ü"].reason, rows["ev-ü"].normalized, rows["ev-ü"].created_at,
            rows["ev-ü"].sync_run_id) == ("applied", None, {"city": "Köln", "n": [1, None]}, later, 2)
    assert (rows["ev-3"].outcome, rows["ev-3"].normalized, rows["ev-3"].created_at, rows["ev-3"].sync_run_id) == (
        "rejected", None, None, None)
    assert (rows["ev-1"].outcome, rows["ev-1"].normalized, rows["ev-1"].created_at, rows["ev-1"].sync_run_id) == (
        "parked", {"was": "ev-1"}, created, 1)


def test_an_update_that_picks_a_row_twice_is_refused(rt) -> None:  # type: ignore[no-untyped-def]
    """One statement joined to staged rows would keep either of the two values, unlike rows one by one."""
    with unit_of_work(rt.engine) as conn, pytest.raises(ValueError, match="picked twice"):
        Bulk(conn).update(received_events, ("outcome",), ("account_id", "event_id"),
                          [("applied", 1, "ev-1"), ("rejected", 1, "ev-1")])


def test_a_second_update_in_one_transaction_applies_only_its_own_rows(rt, clock) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL stages the rows in a temporary table that only a commit empties by itself."""
    account = accounts.add_account(rt, name="shop", kind="event-api", url="http://127.0.0.1:9/",
                                   seller_id="S-1001", token="t")
    with unit_of_work(rt.engine) as conn:
        bulk = Bulk(conn)
        bulk.insert(received_events, ("account_id", "event_id", "wire_type", "received_at", "outcome", "raw"), [
            (account.id, event_id, "Channel:Order.New", bulk.instant(clock()), "parked", "{}")
            for event_id in ("ev-1", "ev-2")
        ])
    for _commit in range(2):  # and again after a commit, in a table made by an earlier transaction
        with unit_of_work(rt.engine) as conn:
            bulk = Bulk(conn)
            bulk.update(received_events, ("outcome",), ("account_id", "event_id"), [("applied", account.id, "ev-1")])
            conn.execute(received_events.update().values(outcome="parked"))
            bulk.update(received_events, ("outcome",), ("account_id", "event_id"), [("rejected", account.id, "ev-2")])
        with read_only(rt.engine) as conn:
            outcomes = dict(conn.execute(select(received_events.c.event_id, received_events.c.outcome)).all())
        assert outcomes == {"ev-1": "parked", "ev-2": "rejected"}
