"""The connector against the real marketplace simulator over loopback HTTP.

Unit tests script every fault by hand; here the same connector meets a server that
trades, re-queues, duplicates and misbehaves on its own, so the tests check what must
hold whatever it does: every stored event arrives at least once, maps cleanly unless it
was injected broken, and the queue ends empty after acknowledging.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from channelport.connectors.base import AccountConfig, EventImport, Received
from channelport.connectors.event_api import EventApiConnector, EventApiKind
from channelport.domain.events import EventType
from channelport.errors import ChannelUnavailable, CredentialsRejected

simulator = pytest.importorskip(
    "channelport.simulator", reason="channelport.simulator cannot be imported yet (built concurrently)"
)
Marketplace = simulator.Marketplace
serve = simulator.serve

UTC = timezone.utc
START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
SELLER, TOKEN = "S-1001", "token-1"
FAST = {"retry_deadline": "20", "max_retry_wait": "0.2", "timeout": "5", "connect_timeout": "2"}


def all_types(import_from: datetime | None = None, pending: bool = False) -> list[EventImport]:
    return [EventImport(kind, enabled=True, import_from=import_from, pending=pending) for kind in EventType]


@pytest.fixture
def market() -> Any:
    return Marketplace(seed=11, start=START, sellers={SELLER: TOKEN, "S-2002": "token-2"}, visibility_timeout=0.5,
                       orders_per_day=60)


@pytest.fixture
def server(market: Any) -> Iterator[Any]:
    with serve(market, port=0) as srv:
        yield srv


def connect(server: Any, token: str = TOKEN, **settings: str) -> EventApiConnector:
    config = AccountConfig(url=server.url, seller_id=SELLER, token=token, settings={**FAST, **settings})
    return EventApiKind.create(config)


def drain(conn: EventApiConnector, market: Any, *, limit: int = 200, seconds: float = 60.0) -> list[Received]:
    """Pull and ack until the channel's queue for the seller is empty (in-flight ones included)."""
    received: list[Received] = []
    give_up = time.monotonic() + seconds
    while True:
        batch = conn.pull(limit)
        received.extend(batch.items)
        conn.ack(batch)
        if batch.empty:
            if market.queue_size(SELLER) == 0:
                return received
            assert time.monotonic() < give_up, f"queue not drained: {market.queue_size(SELLER)} left"
            time.sleep(0.1)  # events in flight come back after the visibility timeout


def key(wire_type: str, created_at: str, payload: Any) -> tuple[str, str, str]:
    return wire_type, created_at, json.dumps(payload, sort_keys=True)


def stored(market: Any) -> set[tuple[str, str, str]]:
    return {key(e["type"], e["createdAt"], e["event"]) for e in market.event_log(SELLER)}


def got(received: list[Received]) -> set[tuple[str, str, str]]:
    return {key(r.wire_type, r.raw["createdAt"], r.raw["event"]) for r in received}


def test_replay_from_a_date_delivers_every_stored_event_once_acknowledged(market: Any, server: Any) -> None:
    market.advance(timedelta(days=3))  # trading before anyone subscribed: stored, not queued
    assert market.event_count(SELLER) > 100
    with connect(server) as conn:
        conn.subscribe(all_types(START, pending=True))
        received = drain(conn, market)
        assert got(received) == stored(market)
        problems = [r.problem for r in received if r.event is None]
        assert problems == []
        assert {r.event.seller_id for r in received if r.event} == {SELLER}
        assert all(not r.event_id.startswith("nid:") for r in received)

        # the same subscription without a pending request re-queues nothing
        conn.subscribe(all_types(START, pending=False))
        assert conn.pull(1000).empty

        # new trading arrives through the live subscription
        market.advance(timedelta(hours=12))
        before = stored(market)
        later = drain(conn, market)
        assert got(received) | got(later) == before


def test_only_enabled_types_are_delivered(market: Any, server: Any) -> None:
    market.advance(timedelta(days=2))
    rows = [EventImport(EventType.ORDER, True, START, True)] + [EventImport(k, False) for k in EventType if k != EventType.ORDER]
    with connect(server) as conn:
        conn.subscribe(rows)
        received = drain(conn, market)
    assert received and {r.wire_type for r in received} == {"Channel:Order.New"}
    assert len({r.event.order_id for r in received}) == market.order_count(SELLER)


def test_a_replay_from_a_later_instant_brings_the_orders_changed_since(market: Any, server: Any) -> None:
    market.advance(timedelta(days=3))
    cut = START + timedelta(days=2)
    with connect(server) as conn:
        conn.subscribe(all_types(cut, pending=True))
        received = drain(conn, market)
    updates = [r for r in received if r.wire_type != "Channel:Order.New"]
    assert updates and all(r.created_at >= cut for r in updates)
    changed = {r.event.order_id for r in updates}
    orders = {r.event.order_id for r in received if r.wire_type == "Channel:Order.New"}
    assert changed <= orders  # every order with a change since then comes with its order event


def test_faults_lose_nothing(market: Any, server: Any) -> None:
    market.faults.set(
        error_probability=0.15,
        rate_limit_probability=0.15,
        retry_after=0.05,
        truncate_probability=0.15,
        duplicate_probability=0.2,
        unknown_event_probability=0.03,
        malformed_event_probability=0.03,
    )
    market.advance(timedelta(days=2))
    with connect(server) as conn:
        conn.subscribe(all_types(START, pending=True))
        received = drain(conn, market, limit=50, seconds=120)
    assert got(received) == stored(market)
    injected = {key(e["type"], e["createdAt"], e["event"]) for e in market.event_log(SELLER) if e["injected"]}
    for item in received:
        broken = key(item.wire_type, item.raw["createdAt"], item.raw["event"]) in injected
        assert (item.event is None) == broken, item
        assert (item.problem is not None) == broken
    assert any(r.unknown for r in received) and any(r.problem and not r.unknown for r in received)
    assert len(received) > len(stored(market))  # duplicates did arrive; the engine dedups them


def test_an_outage_ends_in_channel_unavailable_within_the_deadline(market: Any, server: Any) -> None:
    market.faults.set(outage=True)
    with connect(server, retry_deadline="1.5") as conn:
        started = time.monotonic()
        with pytest.raises(ChannelUnavailable, match="503"):
            conn.pull(10)
        assert time.monotonic() - started < 5


def test_a_server_slower_than_the_timeout_ends_in_channel_unavailable(market: Any, server: Any) -> None:
    market.faults.set(delay_seconds=2.0)
    with connect(server, timeout="0.3", retry_deadline="1") as conn:
        started = time.monotonic()
        with pytest.raises(ChannelUnavailable, match="in time"):
            conn.pull(10)
        assert time.monotonic() - started < 6


def test_refused_connections_are_retried_until_the_channel_is_back(market: Any, server: Any) -> None:
    market.advance(timedelta(hours=6))
    with connect(server, retry_deadline="10") as conn:
        conn.subscribe(all_types(START, pending=True))
        server.refuse_connections()
        back = threading.Timer(1.0, server.accept_connections)
        back.start()
        try:
            received = drain(conn, market)
        finally:
            back.join()
    assert got(received) == stored(market)


def test_refused_connections_past_the_deadline_end_in_channel_unavailable(market: Any, server: Any) -> None:
    server.refuse_connections()
    try:
        with connect(server, retry_deadline="1") as conn, pytest.raises(ChannelUnavailable, match="ConnectError"):
            conn.pull(10)
    finally:
        server.accept_connections()


def test_an_expired_token_is_rejected_at_once(market: Any, server: Any) -> None:
    market.faults.expire_token(SELLER)
    with connect(server) as conn:
        started = time.monotonic()
        with pytest.raises(CredentialsRejected, match="rejected the credentials"):
            conn.subscribe(all_types())
        assert time.monotonic() - started < 2


def test_a_wrong_token_is_rejected(market: Any, server: Any) -> None:
    with connect(server, token="not-a-token") as conn, pytest.raises(CredentialsRejected):
        conn.pull(1)
