"""Property-based fuzzing: whatever a channel sends, mapping never raises and loses nothing."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from channelport.connectors.event_api_mapping import SYNTHETIC_ID_PREFIX, decode_page, map_item, map_page
from channelport.domain.events import NewOrder
from channelport.errors import ChannelUnavailable

from .event_api_support import PAYLOADS, ScriptedChannel, connector

WIRE_TYPES = list(PAYLOADS)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
# Values a sloppy server plausibly puts where a field belongs.
plausible = st.sampled_from(
    ["", "1", "-1", "2.50", "1e3", "NaN", "EUR", "eur", "DE", "DEU", "x" * 251, "CREATED", "PAID", "ITEM",
     "2026-11-20T08:15:02.120Z", "2026-11-20T08:15:02", "2026-13-01T00:00:00Z", "2026-11-20T08:15:02+14:00",
     1, 1.5, -2, True, None, [], {}, [{}]]
) | json_values


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value, for mutations."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@st.composite
def mutated_entries(draw: st.DrawFn) -> Any:
    """A valid entry of a random type with a few fields replaced or removed."""
    wire_type = draw(st.sampled_from(WIRE_TYPES))
    item: dict[str, Any] = {
        "id": draw(st.sampled_from(["ev-1", "ev-2", "", None, 7])),
        "type": wire_type if draw(st.integers(0, 5)) else draw(st.sampled_from(["Channel:Order.Future", "", None])),
        "createdAt": copy.deepcopy(draw(st.sampled_from(["2026-11-20T08:15:02.120Z", "2026-11-20T09:15:02.5+01:00"])
                                        if draw(st.integers(0, 5)) else plausible)),
        "event": copy.deepcopy(PAYLOADS[wire_type]),
    }
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 4]))):
        paths = _paths(item)
        path = draw(st.sampled_from(paths))
        target = item
        for step in path[:-1]:
            target = target[step]
        if isinstance(target, dict) and draw(st.booleans()):
            target.pop(path[-1], None)
        else:
            target[path[-1]] = copy.deepcopy(draw(plausible))  # the strategy's constants must stay unmutated
    return item


entries = st.one_of(mutated_entries(), mutated_entries(), mutated_entries(), json_values)


def _check(item: Any) -> None:
    before = json.dumps(item, sort_keys=True, default=repr)
    received, ackable = map_item(item)
    assert json.dumps(item, sort_keys=True, default=repr) == before  # the raw entry is not altered
    assert received.raw is item
    assert (received.event is None) != (received.problem is None), received
    assert isinstance(received.event_id, str) and received.event_id
    if ackable:  # the channel's id, made storable where it holds U+0000 (acknowledged as sent)
        assert received.event_id == item["id"].replace("\x00", "\ufffd")
    else:
        assert received.event_id.startswith(SYNTHETIC_ID_PREFIX)
    if received.unknown:
        assert received.event is None and received.problem.startswith("unknown event type")
    if received.problem is not None:
        assert received.problem.strip() and len(received.problem) < 1000
    if received.event is not None:
        event = received.event
        assert event.event_id == received.event_id and event.created_at == received.created_at
        assert event.created_at.tzinfo is timezone.utc
        assert 1 <= len(event.order_id) <= 150
        if isinstance(event, NewOrder):
            assert event.order.lines
            for line in event.order.lines:
                assert isinstance(line.quantity, Decimal) and line.quantity >= 0
                assert isinstance(line.gross_price, Decimal) and line.gross_price.is_finite()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries)
def test_mapping_never_raises_and_every_entry_is_an_event_or_a_problem(item: Any) -> None:
    _check(item)
    received, _ = map_item(item)
    event("event" if received.event else "unknown" if received.unknown else "problem")


@settings(max_examples=150, deadline=None)
@given(st.lists(entries, max_size=12))
def test_a_page_keeps_every_entry_in_order_and_acks_only_real_ids(items: list[Any]) -> None:
    received, ack_ids = map_page(items)
    assert len(received) == len(items)
    assert all(entry.raw is item for entry, item in zip(received, items))
    real = [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]]
    assert list(ack_ids) == list(dict.fromkeys(real))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_decode_page_returns_a_list_or_raises_value_error(body: bytes) -> None:
    try:
        items = decode_page(body)
    except ValueError:
        return
    assert isinstance(items, list)


@settings(max_examples=100, deadline=None)
@given(st.integers(100, 599), st.binary(max_size=120), st.dictionaries(st.sampled_from(["Retry-After", "Content-Type"]),
                                                                        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)))
def test_pull_ends_in_a_batch_or_a_connector_error(status: int, body: bytes, headers: dict[str, str]) -> None:
    from channelport.errors import ConnectorError

    if 100 <= status < 200:
        status = 200  # httpx's MockTransport cannot answer 1xx
    channel = ScriptedChannel([httpx.Response(status, content=body, headers=headers)])
    with connector(channel, retry_deadline=0) as conn:
        try:
            conn.pull(10)
        except ConnectorError as exc:
            assert isinstance(exc, ChannelUnavailable) or len(channel.requests) == 1
    assert len(channel.requests) == 1


def test_realistic_entries_from_the_fuzzer_do_become_events() -> None:
    """Guard against a fuzzer that only ever produces garbage: unmutated entries map."""
    for wire_type in WIRE_TYPES:
        item = {"id": "x", "type": wire_type, "createdAt": datetime(2026, 1, 1, tzinfo=timezone.utc).isoformat(),
                "event": copy.deepcopy(PAYLOADS[wire_type])}
        assert map_item(item)[0].event is not None
