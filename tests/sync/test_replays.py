"""A request again from a date: every event comes back under a new id and is known by its content.

The replay is recognised before its order is read (services/replays.py): recorded as a
duplicate naming the event it repeats, applied never. Only events whose effect is
settled (applied, duplicate, stale) are known this way; a parked or ignored event with
the same content still goes to the rules, which may apply it now.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from channelport.connectors.base import Received, Settled
from channelport.domain.events import OrderSeen
from channelport.services import accounts as accounts_service
from channelport.connectors.content import entry_text
from channelport.services import event_imports
from channelport.services import runs as runs_service
from channelport.services import sync as sync_module
from channelport.services.replays import content_digest, find_replays
from channelport.services.sync import sync_account
from channelport.store import received as received_repo
from channelport.store.db import read_only, unit_of_work
from channelport.store.tables import received_events
from tests.sync.conftest import exported, mismatches

pytestmark = pytest.mark.usefixtures("connected")


def _two_days_imported(rt, market):  # type: ignore[no-untyped-def]
    """Two days of trading imported by a first sync: the account, its report, the export."""
    market.advance(timedelta(days=2))
    account = accounts_service.get_account(rt, "shop-one")
    first = sync_account(rt, account, trigger="manual")
    assert first.status == "succeeded" and first.total("applied") > 50
    return account, first, exported(rt, "shop-one")


def test_a_request_again_is_recognised_by_content_without_reading_an_order(rt, market, monkeypatch):
    account, first, before = _two_days_imported(rt, market)

    read: list[str] = []
    real_load = sync_module.orders_repo.load_orders

    def counting_load(conn, account_id, order_ids):  # type: ignore[no-untyped-def]
        ids = list(order_ids)
        read.extend(ids)
        return real_load(conn, account_id, ids)

    monkeypatch.setattr(sync_module.orders_repo, "load_orders", counting_load)
    event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
    again = sync_account(rt, account, trigger="manual")

    assert again.status == "succeeded", again.error
    assert again.events == first.events
    assert again.total("duplicate") == again.events and again.total("applied") == 0
    assert read == []  # no order was read back for a replay
    assert exported(rt, "shop-one") == before
    assert mismatches(rt, market, "S-1001", "shop-one") == []
    with read_only(rt.engine) as conn:
        rows = list(conn.execute(select(received_events).where(received_events.c.sync_run_id == again.run_id)))
        originals = {row.event_id: row for row in conn.execute(
            select(received_events).where(received_events.c.sync_run_id == first.run_id))}
    assert len(rows) == again.events
    for row in rows:
        assert row.outcome == "duplicate"
        original_id = row.reason.removeprefix("the same event was received before as ")
        original = originals[original_id]
        assert row.repeat_of == original_id and row.raw == "" and row.digest is None  # no second copy
        assert original.digest is not None and original.order_id == row.order_id
        assert original.created_at == row.created_at and original.event_type == row.event_type


def test_the_log_shows_a_replay_as_it_came_under_its_own_id(rt, market):
    """A replay's row keeps no text; the log puts back what the channel sent, byte for byte."""
    account, first, _before = _two_days_imported(rt, market)
    event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
    again = sync_account(rt, account, trigger="manual")
    assert again.status == "succeeded" and again.total("duplicate") == again.events
    shown = runs_service.list_events(rt, account="shop-one", limit=again.events + first.events)
    by_id = {row.event_id: row for row in shown}
    replays = [row for row in shown if row.sync_run_id == again.run_id]
    assert len(replays) == again.events
    for row in replays:
        original = by_id[row.repeat_of]
        entry, original_entry = json.loads(row.raw), json.loads(original.raw)
        assert entry["id"] == row.event_id != original_entry["id"]
        assert list(entry) == list(original_entry)  # the id where the channel put it
        assert {**entry, "id": original_entry["id"]} == original_entry
        assert row.raw == entry_text(entry)  # the text the log keeps for an entry as it came
        assert runs_service.event_json(row)["raw"] == row.raw  # as `channelport events --json` and the API show it


def _received(event_id: str, payload: dict, *, event: object = object()) -> Received:
    raw = {"id": event_id, "type": "Channel:Order.StatusUpdate", "createdAt": "2026-11-02T10:00:00Z",
           "event": payload}
    return Received(event_id, raw["type"], datetime(2026, 11, 2, 10, tzinfo=timezone.utc), raw,
                    event=event)  # type: ignore[arg-type]


def test_the_digest_is_of_the_content_without_the_queue_id():
    payload = {"orderId": "O-1", "orderStatus": "SHIPPED"}
    one, other = _received("q-1", payload), _received("q-2", dict(payload))
    assert content_digest(one) == content_digest(other) is not None
    changed = _received("q-3", {"orderId": "O-1", "orderStatus": "SHIPPEd"})
    assert content_digest(changed) != content_digest(one)
    # the log's serialisation is reused when it starts with the id; either way the same digest
    assert content_digest(one, sync_module._raw_text(one.raw)) == content_digest(one)
    id_last = {key: value for key, value in one.raw.items() if key != "id"} | {"id": "q-1"}
    moved = Received("q-1", one.wire_type, one.created_at, id_last, event=one.event)
    assert content_digest(moved, sync_module._raw_text(id_last)) == content_digest(one)
    assert content_digest(_received("q-4", payload, event=None)) is None  # malformed: kept and decided as such
    seen = OrderSeen.__new__(OrderSeen)
    assert content_digest(_received("q-5", payload, event=seen)) is None  # snapshots derive several events


@pytest.mark.parametrize(("outcome", "known"), [
    ("applied", True), ("duplicate", True), ("stale", True),
    ("parked", False), ("ignored", False), ("rejected", False), ("unknown", False),
])
def test_only_a_settled_event_makes_a_replay(rt, outcome, known):
    account = accounts_service.get_account(rt, "shop-one")
    earlier = _received("q-earlier", {"orderId": "O-9", "orderStatus": "SHIPPED"})
    digest = content_digest(earlier)
    assert digest is not None
    now = datetime(2026, 11, 3, tzinfo=timezone.utc)
    with unit_of_work(rt.engine) as conn:
        received_repo.insert_rows(conn, account.id, [received_repo.NewRow(
            event_id="q-earlier", wire_type=earlier.wire_type, event_type="status", order_id="O-9",
            created_at=earlier.created_at, outcome=outcome, reason=None, raw="{}", normalized=None, digest=digest,
        )], now=now, run_id=None)
    again = _received("q-again", {"orderId": "O-9", "orderStatus": "SHIPPED"})
    with read_only(rt.engine) as conn:
        found = find_replays(conn, account.id, [again], {"q-again": digest}, recorded=(), reconsider=())
        as_recorded = find_replays(conn, account.id, [again], {"q-again": digest}, recorded={"q-again"}, reconsider=())
        reconsidered = find_replays(conn, account.id, [again], {"q-again": digest}, recorded=(), reconsider={"q-again"})
    assert found == ({"q-again": Settled("q-earlier", "status", "O-9")} if known else {})
    assert as_recorded == {} and reconsidered == {}  # an id with a row of its own is the rules' to decide


def test_a_replay_is_not_mapped_again_and_its_redelivery_adds_nothing(rt, market, monkeypatch):
    """The channel thread screens each page: a replay's payload is never validated again.

    Its acknowledgement lost, the replay page comes back under the same ids: those ids
    are recorded already, so the rules decide them (a duplicate each, nothing written).
    """
    from channelport.connectors import event_api, event_api_mapping
    from tests.sync.test_redelivery import SwallowAcks

    account, first, before = _two_days_imported(rt, market)

    validated: list[str] = []
    real_map_head, real_map_item = event_api_mapping._map_head, event_api_mapping.map_item
    monkeypatch.setattr(event_api_mapping, "_map_head", lambda item, head: validated.append(head.event_id)
                        or real_map_head(item, head))
    for module in (event_api_mapping, event_api):  # a page's mapping, and the kind's `parse`
        monkeypatch.setattr(module, "map_item", lambda item, **kw: validated.append(str(item))
                            or real_map_item(item, **kw))
    event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
    lost = SwallowAcks()
    again = sync_account(rt, account, trigger="manual", transport=lost)
    assert again.status == "succeeded", again.error
    assert again.total("duplicate") == again.events == first.events and lost.swallowed > 0
    assert validated == []

    assert market.expire_inflight() == again.events  # committed, never acknowledged: sent again
    with read_only(rt.engine) as conn:
        rows_before = conn.execute(select(received_events.c.id)).all()
    redelivered = sync_account(rt, account, trigger="manual")
    assert redelivered.status == "succeeded", redelivered.error
    assert redelivered.total("duplicate") == redelivered.events == first.events
    assert len(validated) == first.events  # mapped for the rules, as their ids are recorded
    with read_only(rt.engine) as conn:
        assert conn.execute(select(received_events.c.id)).all() == rows_before
    assert exported(rt, "shop-one") == before
    assert market.stats()["sellers"]["S-1001"]["queued"] == 0

