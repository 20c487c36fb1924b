"""A page decided while the page before it is still being written sees that page's effects.

On PostgreSQL the sync writes a page on a writer thread while it decides the next one
(`sync._Writer`). The next page reads the database, which does not show the page in
flight until it commits; so the events it records, the orders it creates or changes, the
digests it settles and the events it parks are taken from that page instead. Here every
write is held back, so each page is decided strictly before the one before it commits,
and each of those overlays is needed: without any one of them the sync below fails or
imports something else. SQLite writes each page in the transaction that decides it; it
runs the same script as the reference.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from channelport.services import accounts as accounts_service
from channelport.services import event_imports
from channelport.services import sync as sync_module
from channelport.services.sync import sync_account
from channelport.store.tables import orders, received_events
from tests.connectors.event_api_support import EXAMPLE_ORDER, NEW, STATUS, entry

A, B = "KL-A", "KL-B"


def _order(order_id: str) -> dict[str, Any]:
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload["orderId"] = order_id
    return payload


def _status(order_id: str, status: str, items: list[dict[str, str]] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"sellerId": "S-1001", "orderId": order_id, "orderStatus": status}
    if items is not None:
        payload["orderItems"] = items
    return payload


SHIPPED_ONE = [{"orderItemId": "1", "itemStatus": "SHIPPED"}]

PAGES: list[list[dict[str, Any]]] = [
    # 1: A's status change arrives before A (parked); B is created
    [entry(STATUS, _status(A, "PARTIALLY_SHIPPED", SHIPPED_ONE), id="s-a", created_at="2026-11-20T09:00:00.000Z"),
     entry(NEW, _order(B), id="new-b", created_at="2026-11-20T08:00:00.000Z")],
    # 2: A arrives and takes its parked change (page 1 parked it); B, created by page 1, changes
    [entry(NEW, _order(A), id="new-a", created_at="2026-11-20T08:30:00.000Z"),
     entry(STATUS, _status(B, "ACCEPTED"), id="s-b", created_at="2026-11-20T10:00:00.000Z")],
    # 3: page 2's A again under its id, and page 2's change of B again under a new id
    [entry(NEW, _order(A), id="new-a", created_at="2026-11-20T08:30:00.000Z"),
     entry(STATUS, _status(B, "ACCEPTED"), id="s-b-again", created_at="2026-11-20T10:00:00.000Z")],
    # 4: B, changed by page 2, ships
    [entry(STATUS, _status(B, "SHIPPED"), id="s-b2", created_at="2026-11-20T11:00:00.000Z")],
]


class PagedChannel(httpx.BaseTransport):
    """A channel that follows the protocol and serves the pages above, one per pull."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = [list(page) for page in pages]
        self.acknowledged: list[str] = []
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            if request.method == "PUT":
                asked = json.loads(request.content)["eventImports"]
                return httpx.Response(200, json={"eventImports": [
                    {"type": i["type"], "isImportEnabled": True, "createdAfter": i.get("createdAfter")} for i in asked
                ]})
            if request.method == "GET":
                return httpx.Response(200, json={"eventList": self.pages.pop(0) if self.pages else []})
            ids = json.loads(request.content)["eventIdList"]
            self.acknowledged += ids
            return httpx.Response(200, json={"acknowledged": len(ids)})


@pytest.fixture
def overlapped(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every page's write waits a while first; per page decided: was another page in flight?"""
    in_flight: list[bool] = []
    commit, plan = sync_module._Writer._commit, sync_module._SyncRun._plan

    def slow_commit(self, page, before):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        return commit(self, page, before)

    def watched_plan(self, conn, batch, enabled, reconsider, before):  # type: ignore[no-untyped-def]
        in_flight.append(before is not None)
        return plan(self, conn, batch, enabled, reconsider, before)

    monkeypatch.setattr(sync_module._Writer, "_commit", slow_commit)
    monkeypatch.setattr(sync_module._SyncRun, "_plan", watched_plan)
    return in_flight


def _log(rt) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with rt.engine.connect() as conn:
        rows = conn.execute(select(received_events.c.event_id, received_events.c.outcome, received_events.c.repeat_of))
        return {row.event_id: (row.outcome, row.repeat_of) for row in rows}


def _statuses(rt) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with rt.engine.connect() as conn:
        return dict(conn.execute(select(orders.c.order_id, orders.c.shown_status)).all())


@pytest.mark.parametrize("spare", [True, False], ids=["overlapping", "no-connection-to-spare"])
def test_each_page_sees_what_the_page_in_flight_records(rt, overlapped, monkeypatch, spare):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 10)
    if not spare:  # a worker whose other syncs hold the pool's connections: each page alone, as on SQLite
        monkeypatch.setattr(sync_module, "spare_connection", lambda engine: False)
    accounts_service.add_account(rt, name="shop", kind="event-api", url="http://channel.invalid", seller_id="S-1001",
                                 token="token", settings={"retry_deadline": "1"})
    event_imports.request_imports(rt, "shop", day=date(2026, 11, 1))
    channel = PagedChannel(PAGES)

    report = sync_account(rt, accounts_service.get_account(rt, "shop"), trigger="manual", transport=channel)

    assert report.status == "succeeded", report.error
    assert _log(rt) == {
        "s-a": ("applied", None),  # parked by page 1, applied when page 2 brought its order
        "new-b": ("applied", None),
        "new-a": ("applied", None),  # page 3's delivery of the same id records nothing
        "s-b": ("applied", None),
        "s-b-again": ("duplicate", "s-b"),  # the same content as page 2's event, recognised by its digest
        "s-b2": ("applied", None),
    }
    assert _statuses(rt) == {A: "PARTIALLY_SHIPPED", B: "SHIPPED"}
    assert report.events == 7 and report.total("duplicate") == 2 and report.total("unparked") == 1
    assert sorted(channel.acknowledged) == sorted(e["id"] for page in PAGES for e in page)  # each delivery once
    overlapping = spare and rt.engine.dialect.name == "postgresql"
    assert overlapped == [False] + [overlapping] * (len(PAGES) - 1)
