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
