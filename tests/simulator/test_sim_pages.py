"""The served page body: built from each event's kept JSON text, equal to encoding `pull`.

The server answers a pull from `Marketplace.pull_json`, which joins texts an event keeps
after its first delivery; `Marketplace.pull` builds the dictionaries. Two marketplaces
made alike must give the same bytes both ways, on the first delivery and on a replay
(where every text comes from the kept ones), injected events included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from channelport.simulator import KNOWN_TYPES, Marketplace

from .conftest import SELLERS, START

SELLER = "S-1001"


def _twin() -> Marketplace:
    market = Marketplace(seed=11, start=START, sellers=SELLERS, visibility_timeout=60, orders_per_day=0)
    market.generate(orders=150, days=2)
    market.advance(timedelta(days=20))
    market.subscribe(SELLER, {"eventImports": [{"type": t} for t in KNOWN_TYPES]})
    market.inject_unknown_event(SELLER, "Channel:Order.GiftNote", {"orderId": "X-1", "note": "Grüße ✓"})
    market.inject_malformed_event(SELLER, "float_quantity")
    market.inject_event(SELLER, "Channel:Order.StatusUpdate", {"orderId": "X-2", "orderStatus": "SHIPPED"})
    return market


def _replay_all(market: Marketplace) -> None:
    since = START.isoformat().replace("+00:00", "Z")
    market.subscribe(SELLER, {"eventImports": [{"type": t, "createdAfter": since} for t in KNOWN_TYPES]})


def _drain(market: Marketplace, pull: Callable[[], bytes]) -> list[bytes]:
    """Every page until the queue is empty, each acknowledged as a client would."""
    pages: list[bytes] = []
    while entries := json.loads(body := pull())["eventList"]:
        pages.append(body)
        ids = [entry["id"] for entry in entries]
        for start in range(0, len(ids), 100):
            market.ack(SELLER, {"eventIdList": ids[start : start + 100]})
    return pages


def _encoded(market: Marketplace) -> bytes:
    page = market.pull(SELLER, 37)
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_the_served_body_is_the_encoded_page_on_delivery_and_on_replay() -> None:
    served, built = _twin(), _twin()
    for _ in range(2):  # the first delivery, then every event again from the kept texts
        _replay_all(served)
        _replay_all(built)
        from_texts = _drain(served, lambda: served.pull_json(SELLER, 37))
        from_dicts = _drain(built, lambda: _encoded(built))
        assert len(from_texts) > 10
        assert from_texts == from_dicts


def test_a_replayed_event_is_served_with_the_content_it_was_first_served_with() -> None:
    market = _twin()

    def delivered() -> list[dict[str, Any]]:
        _replay_all(market)
        pages = _drain(market, lambda: market.pull_json(SELLER, 1000))
        return [entry for body in pages for entry in json.loads(body)["eventList"]]

    def content(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        known = [e for e in entries if e["type"] in KNOWN_TYPES]
        return sorted((e["type"], e["createdAt"], json.dumps(e["event"], sort_keys=True)) for e in known)

    first, again = delivered(), delivered()
    assert len(first) > 500
    assert "Channel:Order.GiftNote" in {e["type"] for e in first}  # stored too, but never replayed
    assert content(first) == content(again)
    assert not {e["id"] for e in first} & {e["id"] for e in again}  # a replay queues under new ids
