"""The Import tab through the service: request, set, time zones, refusals."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from channelport.domain.events import EventType
from channelport.errors import SyncRefused, UsageError
from channelport.services import accounts, installation
from channelport.services import event_imports as imports
from channelport.store import accounts as repo
from channelport.store.db import unit_of_work


@pytest.fixture
def account(rt):
    return accounts.add_account(
        rt, name="shop", kind="event-api", url="http://127.0.0.1:9", seller_id="S-1", token="t"
    )


def test_request_sets_all_five_from_local_midnight(rt, account):
    result = imports.request_imports(rt, "shop", day=date(2026, 11, 20))
    assert result.instant == datetime(2026, 11, 19, 23, 0, tzinfo=timezone.utc)
    rows = [row.as_json() for row in imports.show_imports(rt, "shop")]
    assert rows[0] == {
        "event": "order",
        "enabled": True,
        "from": "2026-11-20T00:00:00+01:00",
        "fromUtc": "2026-11-19T23:00:00Z",
        "pending": True,
    }
    assert [r["event"] for r in rows] == [
        "order", "status", "address", "cancellation_accepted", "cancellation_denied",
    ]
    assert all(r["enabled"] and r["pending"] for r in rows)


def test_request_some_events_with_a_time(rt, account):
    imports.request_imports(rt, "shop", day=date(2026, 7, 1), at=time(8, 30), events=[EventType.STATUS])
    rows = {r.event_type: r for r in imports.show_imports(rt, "shop")}
    assert rows[EventType.STATUS].from_utc == datetime(2026, 7, 1, 6, 30, tzinfo=timezone.utc)
    assert not rows[EventType.ORDER].enabled and rows[EventType.ORDER].from_utc is None


def test_future_gap_and_overlap(rt, account):
    with pytest.raises(UsageError, match="future"):
        imports.request_imports(rt, "shop", day=date(2026, 11, 28))
    with pytest.raises(UsageError, match="does not exist"):
        imports.request_imports(rt, "shop", day=date(2026, 3, 29), at=time(2, 30))
    result = imports.request_imports(rt, "shop", day=date(2026, 10, 25), at=time(2, 30))
    assert result.ambiguous
    assert result.instant == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)  # the earlier, still +02:00


def test_set_one_row_and_disable(rt, account):
    imports.set_import(rt, "shop", EventType.ADDRESS, enabled=True, day=date(2026, 11, 1))
    imports.set_import(rt, "shop", EventType.ADDRESS, enabled=False)
    row = {r.event_type: r for r in imports.show_imports(rt, "shop")}[EventType.ADDRESS]
    assert (row.enabled, row.pending) == (False, False)
    assert row.from_utc is not None  # the last request stays visible


def test_pending_clears_only_when_delivered(rt, account, clock):
    imports.request_imports(rt, "shop", day=date(2026, 11, 20))
    with unit_of_work(rt.engine) as conn:
        repo.mark_delivered(conn, account.id, [EventType.ORDER], now=clock())
    rows = {r.event_type: r for r in imports.show_imports(rt, "shop")}
    assert not rows[EventType.ORDER].pending and rows[EventType.STATUS].pending
    assert rows[EventType.ORDER].from_utc is not None


def test_without_the_order_package_requests_are_refused(rt, account):
    installation.set_packages(rt, packages="none")
    with pytest.raises(SyncRefused, match="order package"):
        imports.request_imports(rt, "shop", day=date(2026, 11, 20))


def test_event_names(rt):
    assert imports.parse_events("all") == list(EventType)
    assert imports.parse_events("order, status") == [EventType.ORDER, EventType.STATUS]
    with pytest.raises(UsageError, match="unknown event"):
        imports.parse_events("orders")
