"""Every fault switch does what it says, from Python and through the /_sim/ control API."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from channelport.simulator import ADDRESS, NEW, STATUS, Marketplace, SimServer

from .conftest import SELLERS, SHORT_VISIBILITY, START
from .support import ack, assert_error, drain, pull, subscribe

SINCE = "2026-11-01T00:00:00Z"


def _every_endpoint(client: httpx.Client) -> list[httpx.Response]:
    return [
        client.put("/v2/seller/event-imports", json={"eventImports": [{"type": NEW}]}),
        client.get("/v2/seller/event"),
        client.request("DELETE", "/v2/seller/event", json={"eventIdList": ["ev-1"]}),
        client.post("/v2/seller/order/cancellation-request", json={}),
    ]


def test_no_fault_unless_asked_for(market: Marketplace) -> None:
    settings = market.faults.as_dict()
    assert settings["outage"] is False and settings["expired_sellers"] == []
    assert all(
        value == 0 for name, value in settings.items() if name not in ("outage", "expired_sellers", "retry_after")
    )


def test_outage_answers_503_and_changes_nothing(market: Marketplace, client: httpx.Client) -> None:
    market.faults.set(outage=True)
    for response in _every_endpoint(client):
        assert_error(response, 503)
    assert market.stats()["sellers"]["S-1001"]["subscribed"] == []
    market.faults.reset()
    assert client.get("/v2/seller/event").status_code == 200


def test_refused_connections_then_the_same_port_again(own_server: SimServer) -> None:
    with httpx.Client(base_url=own_server.url, headers={"Authorization": "Bearer token-1"}) as http:
        assert http.get("/v2/seller/event").status_code == 200
        port = own_server.port
        own_server.refuse_connections()
        with pytest.raises(httpx.ConnectError):
            http.get("/v2/seller/event")
        own_server.accept_connections()
        assert own_server.port == port
        assert http.get("/v2/seller/event").status_code == 200


def test_rate_limit_every_nth_request(market: Marketplace, client: httpx.Client) -> None:
    market.faults.set(rate_limit_every=3, retry_after=2)
    responses = [client.get("/v2/seller/event") for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429]
    limited = responses[2]
    assert_error(limited, 429)
    assert limited.headers["Retry-After"] == "2"
    assert limited.headers["X-RateLimit-Limit"].isdigit()
    assert limited.headers["X-RateLimit-Interval-Length-Seconds"].isdigit()
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_rate_limit_by_chance(market: Marketplace, client: httpx.Client) -> None:
    market.faults.set(rate_limit_probability=0.5)
    codes = Counter(client.get("/v2/seller/event").status_code for _ in range(20))
    assert set(codes) == {200, 429}


def test_random_500s_have_non_json_bodies_and_change_nothing(market: Marketplace, client: httpx.Client) -> None:
    market.faults.set(error_probability=1.0)
    for response in _every_endpoint(client):
        assert response.status_code == 500
        with pytest.raises(ValueError):
            json.loads(response.text)
    assert market.stats()["sellers"]["S-1001"]["subscribed"] == []
    market.faults.set(error_probability=0.3)
    assert set(Counter(client.get("/v2/seller/event").status_code for _ in range(20))) == {200, 500}


def test_slow_answers(market: Marketplace, client: httpx.Client) -> None:
    market.faults.set(delay_seconds=0.3)
    started = time.monotonic()
    assert client.get("/v2/seller/event").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_duplicate_deliveries_in_all_three_shapes(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=20, days=2)
    subscribe(client, since=SINCE)
    market.faults.set(duplicate_probability=1.0)
    pages = []
    for _ in range(12):
        page = pull(client, limit=10)
        pages.append(page)
        ack(client, [e["id"] for e in page])
    assert any(len({json.dumps(e["event"]) for e in page}) < len(page) for page in pages), (
        "same payload twice in a page"
    )
    ids = Counter(e["id"] for page in pages for e in page)
    assert any(n > 1 for n in ids.values()), "the same id again"
    by_payload: dict[str, set[str]] = {}
    for page in pages:
        for event in page:
            by_payload.setdefault(json.dumps(event["event"], sort_keys=True) + event["createdAt"], set()).add(
                event["id"]
            )
    assert any(len(i) > 1 for i in by_payload.values()), "the same event under a new id"
    market.faults.reset()
    delivered = {e["createdAt"] + e["type"] for page in pages for e in page} | {
        e["createdAt"] + e["type"] for e in drain(client)
    }
    assert len(delivered) == len({e["createdAt"] + e["type"] for e in market.event_log("S-1001")})  # at least once


def test_updates_overtake_their_order_when_new_orders_are_held_back(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=15, days=2)
    market.faults.set(hold_new_seconds=1.5)
    subscribe(client, since=SINCE)
    early = drain(client)
    assert early and NEW not in {e["type"] for e in early}
    time.sleep(1.6)
    late = drain(client)
    assert {e["type"] for e in late} == {NEW}
    assert {e["event"]["orderId"] for e in late} >= {e["event"]["orderId"] for e in early}


def test_stale_updates_arrive_after_newer_ones(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=30, days=4)
    subscribe(client, [STATUS, ADDRESS], since=SINCE)
    market.faults.set(stale_probability=1.0)
    first = pull(client, limit=1000)
    ack(client, [e["id"] for e in first])
    market.faults.reset()
    second = pull(client, limit=1000)
    assert second
    newest = {}
    for event in first:
        key = (event["event"]["orderId"], event["type"])
        newest[key] = max(newest.get(key, ""), event["createdAt"])
    for event in second:
        assert event["id"] not in {e["id"] for e in first}
        assert event["createdAt"] < newest[(event["event"]["orderId"], event["type"])]


def test_an_expired_token_is_401_for_that_seller_only(
    market: Marketplace, client: httpx.Client, client2: httpx.Client
) -> None:
    market.faults.expire_token("S-1001")
    for response in _every_endpoint(client):
        assert assert_error(response, 401)["errorList"][0]["code"] == "TOKEN_EXPIRED"
    assert client2.get("/v2/seller/event").status_code == 200
    market.faults.reset()
    assert client.get("/v2/seller/event").status_code == 200


def test_unknown_event_types_are_delivered_unless_filtered_out(market: Marketplace, client: httpx.Client) -> None:
    subscribe(client, [STATUS])
    market.inject_unknown_event(
        "S-1001", "Channel:Order.GiftNote", {"sellerId": "S-1001", "orderId": "KL-1", "note": "Hi"}
    )
    assert pull(client, types=[STATUS]) == []
    (event,) = drain(client)
    assert event["type"] == "Channel:Order.GiftNote" and event["event"]["note"] == "Hi"
    market.faults.set(unknown_event_probability=1.0)
    market.advance(timedelta(hours=12))
    assert "Channel:Order.GiftNote" in {e["type"] for e in drain(client)}


def test_malformed_events_break_the_protocol_and_stay_out_of_the_truth(
    market: Marketplace, client: httpx.Client
) -> None:
    market.generate(orders=5, days=1)
    subscribe(client, [NEW, STATUS])
    market.inject_malformed_event("S-1001", "float_quantity")
    market.inject_malformed_event("S-1001", "missing_order_id")
    response = client.get("/v2/seller/event")
    events = response.json()["eventList"]
    float_order = next(e for e in events if e["type"] == NEW)
    assert isinstance(float_order["event"]["orderItem"][0]["quantity"], float)
    assert '"quantity":2.0' in response.text
    assert "orderId" not in next(e for e in events if e["type"] == STATUS)["event"]
    assert all(not o["orderId"].startswith("MALFORMED") for o in market.truth("S-1001"))
    market.faults.set(malformed_event_probability=1.0)
    market.advance(timedelta(hours=6))
    assert market.event_count("S-1001") > market.order_count("S-1001") * 2


def test_lost_events_come_back_only_with_a_replay(market: Marketplace, client: httpx.Client) -> None:
    subscribe(client)
    market.advance(timedelta(days=2))
    queued = market.queue_size("S-1001")
    lost = market.lose_events(fraction=1.0, since=START + timedelta(days=1), until=START + timedelta(days=2))
    assert 0 < lost < queued
    assert market.queue_size("S-1001") == queued - lost
    delivered = drain(client)
    assert max(e["createdAt"] for e in delivered) < "2026-11-21T00:00:00.000Z"
    assert market.expire_inflight() == 0 and pull(client) == []
    subscribe(client, since="2026-11-21T00:00:00Z")
    assert len(drain(client)) >= lost


def test_a_fraction_of_a_window_can_be_lost(market: Marketplace, client: httpx.Client) -> None:
    subscribe(client)
    market.advance(timedelta(days=2))
    queued = market.queue_size("S-1001")
    assert market.lose_events(fraction=0.5) == round(queued * 0.5)


def test_new_events_can_be_lost_by_chance(market: Marketplace, client: httpx.Client) -> None:
    subscribe(client)
    market.faults.set(lose_probability=1.0)
    market.advance(timedelta(days=1))
    assert market.event_count("S-1001") > 0 and market.queue_size("S-1001") == 0
    market.faults.reset()
    subscribe(client, since=SINCE)
    assert len(drain(client)) == market.event_count("S-1001")


def test_expire_inflight_makes_pulled_events_visible_at_once(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=5, days=1)
    subscribe(client, since=SINCE)
    page = pull(client)
    assert pull(client) == []
    assert market.expire_inflight() == len(page)
    assert [e["id"] for e in pull(client)] == [e["id"] for e in page]


def test_a_truncated_200_body_still_puts_the_events_in_flight(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=5, days=1)
    market.visibility_timeout = SHORT_VISIBILITY
    subscribe(client, since=SINCE)
    market.faults.set(truncate_probability=1.0)
    response = client.get("/v2/seller/event")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)
    market.faults.reset()
    assert pull(client) == []
    time.sleep(SHORT_VISIBILITY + 0.1)
    assert len(pull(client)) == market.event_count("S-1001")


def test_fault_settings_are_checked(market: Marketplace) -> None:
    with pytest.raises(ValueError):
        market.faults.set(bogus=True)
    with pytest.raises(ValueError):
        market.faults.set(outage=True, error_probability=2)
    with pytest.raises(ValueError):
        market.faults.set(expired_sellers="S-1001")
    assert market.faults.as_dict()["outage"] is False


def test_fault_randomness_is_seeded(shared_server: SimServer, client: httpx.Client) -> None:
    def codes() -> list[int]:
        market = Marketplace(seed=3, start=START, sellers=SELLERS, orders_per_day=0)
        market.faults.set(error_probability=0.5)
        shared_server.marketplace = market
        return [client.get("/v2/seller/event").status_code for _ in range(16)]

    first = codes()
    assert set(first) == {200, 500}
    assert codes() == first


# --- the control API ---------------------------------------------------------------------
def test_control_api(market: Marketplace, client: httpx.Client, control: httpx.Client) -> None:
    assert control.get("/_sim/faults").json()["outage"] is False
    assert control.post("/_sim/faults", json={"outage": True}).json()["outage"] is True
    assert_error(client.get("/v2/seller/event"), 503)
    assert control.post("/_sim/faults", json={"reset": True, "rate_limit_every": 5}).json()["outage"] is False
    assert market.faults.as_dict()["rate_limit_every"] == 5
    assert_error(control.post("/_sim/faults", json={"nonsense": 1}), 400)
    assert_error(control.post("/_sim/faults", json={"error_probability": "high"}), 400)
    control.post("/_sim/faults", json={"reset": True})

    subscribe(client)
    assert control.post("/_sim/advance", json={"seconds": 86400}).json() == {"now": "2026-11-21T00:00:00.000Z"}
    assert (
        control.post("/_sim/advance", json={"to": "2026-11-21T06:00:00+01:00"}).json()["now"]
        == "2026-11-21T05:00:00.000Z"
    )
    assert_error(control.post("/_sim/advance", json={"seconds": "soon"}), 400)
    assert_error(control.post("/_sim/advance", json={"to": "2026-11-20T00:00:00Z"}), 400)  # backwards

    stats = control.get("/_sim/stats").json()
    assert stats["now"] == "2026-11-21T05:00:00.000Z"
    assert stats["sellers"]["S-1001"]["orders"] == market.order_count("S-1001") > 0

    page = pull(client, limit=3)
    assert control.post("/_sim/expire-inflight", json={"sellerId": "S-1001"}).json() == {"expired": 3}
    assert [e["id"] for e in pull(client, limit=3)] == [e["id"] for e in page]
    before = market.queue_size("S-1001")
    lost = control.post("/_sim/lose-events", json={"sellerId": "S-1001", "since": "2026-11-20T12:00:00Z"}).json()[
        "lost"
    ]
    assert lost > 0 and market.queue_size("S-1001") == before - lost

    assert control.post("/_sim/inject", json={"sellerId": "S-1001", "kind": "unknown"}).status_code == 200
    assert_error(control.post("/_sim/inject", json={"kind": "odd"}), 400)

    truth = control.get("/_sim/truth", params={"sellerId": "S-1001", "account": "shop-a"})
    assert truth.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in truth.text.splitlines()]
    assert lines == market.truth("S-1001", account="shop-a")
    assert_error(control.get("/_sim/truth", params={"sellerId": "S-9"}), 400)
