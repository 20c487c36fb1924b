"""The simulator against every statement of protocol/channel-event-api.md, over real HTTP."""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from datetime import timedelta

import httpx
import pytest

from channelport.simulator import (
    ADDRESS,
    CANCEL_ACCEPTED,
    CANCEL_DENIED,
    KNOWN_TYPES,
    NEW,
    STATUS,
    Marketplace,
    SimServer,
)
from channelport.simulator.wire import ms_to_text, parse_timestamp_us

from .conftest import SHORT_VISIBILITY, START
from .support import ack, assert_error, drain, payload_problems, pull, subscribe


def _ms(text: str) -> int:
    return parse_timestamp_us(text) // 1000


# --- PUT /v2/seller/event-imports ----------------------------------------------------
def test_put_answers_the_state_of_every_known_type(client: httpx.Client) -> None:
    response = subscribe(client, [NEW, STATUS], since="2026-11-19T23:00:00+01:00")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    state = {item["type"]: item for item in response.json()["eventImports"]}
    assert set(state) == set(KNOWN_TYPES)
    assert state[NEW] == {"type": NEW, "isImportEnabled": True, "createdAfter": "2026-11-19T22:00:00.000Z"}
    assert state[STATUS]["isImportEnabled"] is True
    for type_ in (ADDRESS, CANCEL_ACCEPTED, CANCEL_DENIED):
        assert state[type_] == {"type": type_, "isImportEnabled": False, "createdAfter": None}


def test_nothing_is_queued_while_nothing_is_subscribed(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=20, days=2)
    assert market.event_count("S-1001") > 20
    assert market.queue_size("S-1001") == 0
    subscribe(client)  # without createdAfter: nothing is re-queued
    assert pull(client) == []
    market.advance(timedelta(hours=6))
    fresh = drain(client)
    assert fresh and all(e["createdAt"] > ms_to_text(_ms("2026-11-22T00:00:00Z") - 1) for e in fresh)


def test_declarative_replace_stops_unlisted_types_and_keeps_their_events(
    market: Marketplace, client: httpx.Client
) -> None:
    subscribe(client, [NEW, STATUS])
    market.advance(timedelta(days=1))
    queued = market.queue_size("S-1001")
    assert queued > 0
    state = {i["type"]: i["isImportEnabled"] for i in subscribe(client, [ADDRESS]).json()["eventImports"]}
    assert state == {NEW: False, STATUS: False, ADDRESS: True, CANCEL_ACCEPTED: False, CANCEL_DENIED: False}
    assert pull(client) == []
    assert market.queue_size("S-1001") == queued  # still stored and queued
    market.advance(timedelta(days=1))  # New and status events of this day are not queued at all
    subscribe(client, [NEW, STATUS])
    delivered = drain(client)
    assert len(delivered) == queued
    assert max(e["createdAt"] for e in delivered) < "2026-11-21T00:00:00.001Z"


def test_replay_is_inclusive_at_the_exact_instant(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=30, days=3)
    statuses = [e for e in market.event_log("S-1001") if e["type"] == STATUS]
    pivot = statuses[len(statuses) // 2]["createdAt"]
    expected = sorted(e["createdAt"] for e in statuses if e["createdAt"] >= pivot)

    subscribe(client, [STATUS], since=pivot)
    got = drain(client)
    assert sorted(e["createdAt"] for e in got) == expected
    assert got[0]["createdAt"] == pivot

    one_microsecond_later = pivot[:-1] + "001Z"  # ".123Z" -> ".123001Z"
    subscribe(client, [STATUS], since=one_microsecond_later)
    assert pivot not in {e["createdAt"] for e in drain(client)}

    # an offset other than Z names the same instant: the server compares instants
    pivot_ms = _ms(pivot)
    as_berlin = ms_to_text(pivot_ms + 3_600_000)[:-1] + "+01:00"
    subscribe(client, [STATUS], since=as_berlin)
    assert drain(client)[0]["createdAt"] == pivot


def test_replay_requeues_acknowledged_events_under_new_ids(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=10, days=1)
    subscribe(client, since="2026-11-01T00:00:00Z")
    first = drain(client)
    assert len(first) == market.event_count("S-1001")
    subscribe(client, since="2026-11-01T00:00:00Z")
    again = drain(client)
    assert sorted((e["type"], e["createdAt"]) for e in again) == sorted((e["type"], e["createdAt"]) for e in first)
    assert not {e["id"] for e in again} & {e["id"] for e in first}


def test_repeating_the_same_put_requeues_the_same_events(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=10, days=1)
    subscribe(client, [NEW], since="2026-11-20T06:00:00Z")
    first = drain(client)
    subscribe(client, [NEW], since="2026-11-20T06:00:00Z")
    assert [e["event"] for e in drain(client)] == [e["event"] for e in first]


def test_order_replay_also_queues_orders_changed_since(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=40, days=3)
    since = "2026-11-23T00:00:00.000Z"
    market.advance(timedelta(hours=12))
    log = market.event_log("S-1001")
    touched = {e["event"]["orderId"] for e in log if e["createdAt"] >= since}
    originals = {e["event"]["orderId"]: e for e in log if e["type"] == NEW}

    subscribe(client, [NEW], since=since)
    got = drain(client)
    assert {e["event"]["orderId"] for e in got} == touched
    older = [e for e in got if e["createdAt"] < since]
    assert older, "some orders were created before the instant and changed after it"
    for event in got:
        original = originals[event["event"]["orderId"]]
        assert event["createdAt"] == original["createdAt"] == event["event"]["purchasedAt"]
        assert event["event"] == original["event"]  # the order as it was created
        assert event["event"]["orderStatus"] == "CREATED"


def test_a_put_without_created_after_requeues_nothing(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=10, days=1)
    subscribe(client, since="2026-11-01T00:00:00Z")
    drain(client)
    subscribe(client)
    assert pull(client) == []


BAD_IMPORTS = [
    {"eventImports": [{"type": "Channel:Order.GiftNote"}]},
    {"eventImports": [{"type": NEW, "createdAfter": "2026-01-01T00:00:00Z"}, {"type": "Channel:Order.Gift"}]},
    {"eventImports": [{"type": NEW, "createdAfter": "2026-11-19"}]},
    {"eventImports": [{"type": NEW, "createdAfter": "2026-11-19T23:00:00"}]},
    {"eventImports": [{"type": NEW, "createdAfter": "2026-13-19T23:00:00Z"}]},
    {"eventImports": [{"type": NEW, "createdAfter": "yesterday"}]},
    {"eventImports": [{"type": NEW, "createdAfter": 1763593200}]},
    {"eventImports": [{"type": NEW}, {"type": NEW, "createdAfter": "2026-01-01T00:00:00Z"}]},
    {"eventImports": [{"type": NEW, "from": "2026-01-01T00:00:00Z"}]},
    {"eventImports": [{"createdAfter": "2026-01-01T00:00:00Z"}]},
    {"eventImports": {"type": NEW}},
    {"imports": []},
    [{"type": NEW}],
]


@pytest.mark.parametrize("body", BAD_IMPORTS)
def test_bad_subscriptions_are_400_and_change_nothing(market: Marketplace, client: httpx.Client, body: object) -> None:
    market.generate(orders=10, days=1)
    before = subscribe(client, [STATUS]).json()
    queued = market.queue_size("S-1001")
    assert_error(client.put("/v2/seller/event-imports", json=body), 400)
    assert market.queue_size("S-1001") == queued == 0
    assert market.stats()["sellers"]["S-1001"]["subscribed"] == [STATUS]
    assert client.put("/v2/seller/event-imports", json={"eventImports": [{"type": STATUS}]}).json() == before


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"null"])
def test_bodies_that_are_not_json_objects_are_400(client: httpx.Client, raw: bytes) -> None:
    for method, path in (
        ("PUT", "/v2/seller/event-imports"),
        ("DELETE", "/v2/seller/event"),
        ("POST", "/v2/seller/order/cancellation-request"),
    ):
        assert_error(client.request(method, path, content=raw, headers={"Content-Type": "application/json"}), 400)


# --- authentication ---------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic token-1", "Bearer", "token-1"])
def test_every_endpoint_answers_401_without_a_valid_bearer_token(server, header: str | None) -> None:  # type: ignore[no-untyped-def]
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        assert_error(http.put("/v2/seller/event-imports", json={"eventImports": []}), 401)
        assert_error(http.get("/v2/seller/event"), 401)
        assert_error(http.request("DELETE", "/v2/seller/event", json={"eventIdList": ["x"]}), 401)
        assert_error(http.post("/v2/seller/order/cancellation-request", json={}), 401)


def test_the_bearer_scheme_is_case_insensitive(client: httpx.Client, server) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, headers={"Authorization": "bearer token-1"}) as http:
        assert http.get("/v2/seller/event").status_code == 200


# --- GET /v2/seller/event ----------------------------------------------------------------
@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", "", " 5", "1e2"])
def test_limit_out_of_range_or_not_an_integer_is_400(client: httpx.Client, limit: str) -> None:
    assert_error(client.get("/v2/seller/event", params={"limit": limit}), 400)


def test_limit_bounds_and_default(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=400, days=5)
    assert market.event_count("S-1001") > 1100
    subscribe(client, since="2026-11-01T00:00:00Z")
    assert len(pull(client, limit=1)) == 1
    default = client.get("/v2/seller/event").json()["eventList"]
    assert len(default) == 100
    assert len(pull(client, limit=1000)) == 1000
    assert_error(client.get("/v2/seller/event", params=[("limit", "5"), ("limit", "6")]), 400)


def test_events_come_oldest_created_at_first_across_types_and_pages(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=60, days=4)
    subscribe(client, since="2026-11-01T00:00:00Z")
    seen = []
    while page := pull(client, limit=37):
        seen.extend(page)
        ack(client, [e["id"] for e in page])
    assert len(seen) == market.event_count("S-1001")
    stamps = [e["createdAt"] for e in seen]
    assert stamps == sorted(stamps)
    assert len({e["type"] for e in seen}) >= 3
    for event in seen:
        assert set(event) == {"id", "type", "createdAt", "event"}
        assert not payload_problems(event["type"], event["event"]), event


def test_event_type_filter_narrows_the_subscribed_types(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=40, days=3)
    subscribe(client, [NEW, STATUS, ADDRESS], since="2026-11-01T00:00:00Z")
    narrowed = drain(client, types=[STATUS, ADDRESS])
    assert narrowed and {e["type"] for e in narrowed} <= {STATUS, ADDRESS}
    assert pull(client, types=[CANCEL_ACCEPTED]) == []  # not subscribed: nothing, even if queued
    rest = drain(client)
    assert rest and {e["type"] for e in rest} == {NEW}
    assert_error(client.get("/v2/seller/event", params={"eventTypeFilter": "Channel:Order.GiftNote"}), 400)
    assert_error(client.get("/v2/seller/event", params={"eventTypeFilter": ""}), 400)


def test_pulled_events_are_invisible_until_the_visibility_timeout(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=10, days=1)
    market.visibility_timeout = SHORT_VISIBILITY
    subscribe(client, since="2026-11-01T00:00:00Z")
    total = market.event_count("S-1001")
    first = pull(client, limit=5)
    rest = pull(client)
    assert len(rest) == total - 5
    assert not {e["id"] for e in first} & {e["id"] for e in rest}
    assert pull(client) == []
    ack(client, [e["id"] for e in rest])
    time.sleep(SHORT_VISIBILITY + 0.2)
    again = pull(client)
    assert [(e["id"], e["event"]) for e in again] == [(e["id"], e["event"]) for e in first]  # same ids
    ack(client, [e["id"] for e in again])
    time.sleep(SHORT_VISIBILITY + 0.2)
    assert pull(client) == []
    assert market.queue_size("S-1001") == 0


def test_acknowledge_counts_only_live_ids(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=10, days=1)
    subscribe(client, since="2026-11-01T00:00:00Z")
    page = pull(client, limit=4)
    ids = [e["id"] for e in page]
    body = {"eventIdList": [ids[0], ids[0], ids[1], "no-such-id"]}
    assert client.request("DELETE", "/v2/seller/event", json=body).json() == {"acknowledged": 2}
    assert client.request("DELETE", "/v2/seller/event", json={"eventIdList": ids}).json() == {"acknowledged": 2}
    assert client.request("DELETE", "/v2/seller/event", json={"eventIdList": ids}).json() == {"acknowledged": 0}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_client_gone_before_its_body_arrived_acknowledges_nothing_and_leaves_no_traceback(
    market: Marketplace, client: httpx.Client, server: SimServer
) -> None:
    market.generate(orders=3, days=1)
    subscribe(client, since="2026-11-01T00:00:00Z")
    ids = [e["id"] for e in pull(client, limit=4)]
    body = json.dumps({"eventIdList": ids}).encode()
    head = (f"DELETE /v2/seller/event HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer token-1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    records = _Records()
    uvicorn_errors = logging.getLogger("uvicorn.error")  # where uvicorn reports an exception in the app
    uvicorn_errors.addHandler(records)
    try:
        with socket.create_connection((server.host, server.port)) as sock:
            sock.sendall(head + body[:10])  # and then the client is gone, as a kill -9 mid-request leaves it
        time.sleep(0.5)
    finally:
        uvicorn_errors.removeHandler(records)
    assert not [m for m in records.messages if "Exception in ASGI application" in m]
    assert client.request("DELETE", "/v2/seller/event", json={"eventIdList": ids}).json() == {"acknowledged": len(ids)}


@pytest.mark.parametrize(
    "body",
    [
        {"eventIdList": []},
        {"eventIdList": [f"id-{i}" for i in range(101)]},
        {"eventIdList": [1, 2]},
        {"eventIdList": "ev-1"},
        {"ids": ["ev-1"]},
        {"eventIdList": ["ev-1"], "extra": 1},
        {"eventIdList": [""]},
    ],
)
def test_acknowledge_bodies_of_the_wrong_shape_are_400(market: Marketplace, client: httpx.Client, body: object) -> None:
    market.generate(orders=3, days=1)
    subscribe(client, since="2026-11-01T00:00:00Z")
    queued = market.queue_size("S-1001")
    assert_error(client.request("DELETE", "/v2/seller/event", json=body), 400)
    assert market.queue_size("S-1001") == queued


def test_a_hundred_ids_are_accepted(market: Marketplace, client: httpx.Client) -> None:
    market.generate(orders=80, days=2)
    subscribe(client, since="2026-11-01T00:00:00Z")
    ids = [e["id"] for e in pull(client, limit=100)]
    assert len(ids) == 100
    assert client.request("DELETE", "/v2/seller/event", json={"eventIdList": ids}).json() == {"acknowledged": 100}


def test_sellers_have_separate_queues(market: Marketplace, client: httpx.Client, client2: httpx.Client) -> None:
    market.generate(orders=10, days=1)
    subscribe(client, since="2026-11-01T00:00:00Z")
    subscribe(client2, since="2026-11-01T00:00:00Z")
    mine = pull(client)
    theirs = pull(client2)
    assert {e["event"]["sellerId"] for e in mine} == {"S-1001"}
    assert {e["event"]["sellerId"] for e in theirs} == {"S-2002"}
    assert client2.request("DELETE", "/v2/seller/event", json={"eventIdList": [mine[0]["id"]]}).json() == {
        "acknowledged": 0
    }
    assert ack(client, [mine[0]["id"]]) == 1


def test_unknown_paths_and_methods_answer_with_an_error_list(client: httpx.Client) -> None:
    assert_error(client.get("/v2/seller/orders"), 404)
    assert_error(client.post("/v2/seller/event", json={}), 405)


# --- POST /v2/seller/order/cancellation-request --------------------------------------
def _open_order(market: Marketplace) -> dict:  # type: ignore[type-arg]
    for order in market.truth("S-1001"):
        statuses = {i["itemStatus"] for i in order["orderItem"]}
        if order["orderStatus"] in ("CREATED", "ACCEPTED") and statuses == {"UNSHIPPED"}:
            return order
    raise AssertionError("no open order")


def _request(order_id: str, **extra: object) -> dict:  # type: ignore[type-arg]
    return {
        "orderId": order_id,
        "orderCancellationRequestId": str(uuid.uuid4()),
        "cancelReason": "OUT_OF_STOCK",
        **extra,
    }


def test_cancellation_request_is_idempotent_and_answered_later(market: Marketplace, client: httpx.Client) -> None:
    market.cancel_accept_probability = 1.0
    market.generate(orders=30, days=1)
    order = _open_order(market)
    body = _request(order["orderId"], message="Leider ausverkauft")
    subscribe(client, [STATUS, CANCEL_ACCEPTED, CANCEL_DENIED])
    first = client.post("/v2/seller/order/cancellation-request", json=body)
    assert first.status_code == 201
    assert first.json() == {"orderCancellationRequestId": body["orderCancellationRequestId"], "state": "REQUESTED"}
    assert client.post("/v2/seller/order/cancellation-request", json=body).status_code == 200
    assert [e for e in drain(client) if e["type"] != STATUS] == []  # not answered yet
    market.advance(timedelta(minutes=16))
    answers = [e for e in drain(client) if e["type"] in (CANCEL_ACCEPTED, CANCEL_DENIED)]
    mine = [e for e in answers if e["event"]["orderCancellationRequestId"] == body["orderCancellationRequestId"]]
    assert len(mine) == 1 and mine[0]["type"] == CANCEL_ACCEPTED
    assert mine[0]["event"] == {
        "sellerId": "S-1001",
        "orderId": order["orderId"],
        "orderCancellationRequestId": body["orderCancellationRequestId"],
        "cancelReason": "OUT_OF_STOCK",
    }
    truth = next(o for o in market.truth("S-1001") if o["orderId"] == order["orderId"])
    assert truth["orderStatus"] == "CANCELED_BY_SELLER"
    assert truth["cancellationRequests"] == [
        {
            "orderCancellationRequestId": body["orderCancellationRequestId"],
            "state": "ACCEPTED",
            "cancelReason": "OUT_OF_STOCK",
            "reason": None,
        }
    ]
    assert all(
        i["itemStatus"] == "CANCELED_BY_SELLER" and i["cancelledQuantity"] == i["quantity"] for i in truth["orderItem"]
    )
    repeat = client.post("/v2/seller/order/cancellation-request", json=body)
    assert repeat.status_code == 200 and repeat.json()["state"] == "ACCEPTED"


def test_a_partial_cancellation_names_items_and_quantities(market: Marketplace, client: httpx.Client) -> None:
    market.cancel_accept_probability = 1.0
    market.generate(orders=30, days=1)
    order = _open_order(market)
    item = order["orderItem"][0]
    body = _request(order["orderId"], orderItem=[{"orderItemId": item["orderItemId"], "quantity": "0.5"}])
    assert client.post("/v2/seller/order/cancellation-request", json=body).status_code == 201
    subscribe(client, [CANCEL_ACCEPTED])
    market.advance(timedelta(minutes=16))
    (answer,) = drain(client)
    assert answer["event"]["orderItem"] == [{"orderItemId": item["orderItemId"], "quantity": "0.5"}]
    truth = next(o for o in market.truth("S-1001") if o["orderId"] == order["orderId"])
    assert truth["orderItem"][0]["cancelledQuantity"] == "0.5"
    assert truth["orderStatus"] == order["orderStatus"]


def test_a_denied_request_leaves_the_order_unchanged(market: Marketplace, client: httpx.Client) -> None:
    market.cancel_accept_probability = 0.0
    market.generate(orders=30, days=1)
    order = _open_order(market)
    body = _request(order["orderId"])
    client.post("/v2/seller/order/cancellation-request", json=body)
    subscribe(client, [CANCEL_DENIED])
    market.advance(timedelta(minutes=16))
    (answer,) = drain(client)
    assert answer["event"]["orderCancellationRequestId"] == body["orderCancellationRequestId"]
    assert isinstance(answer["event"]["reason"], str) and 0 < len(answer["event"]["reason"]) <= 250
    truth = next(o for o in market.truth("S-1001") if o["orderId"] == order["orderId"])
    assert truth["cancellationRequests"][0]["state"] == "DENIED"
    assert truth["cancellationRequests"][0]["cancelReason"] is None


def test_the_order_status_waits_while_a_request_is_open(market: Marketplace, client: httpx.Client) -> None:
    market.answer_delay = (3 * 3600.0, 3 * 3600.0)  # three hours without an answer
    market.cancel_accept_probability = 0.0
    market.generate(orders=60, days=1)
    open_orders = [o["orderId"] for o in market.truth("S-1001") if o["orderStatus"] in ("CREATED", "ACCEPTED")][:10]
    for order_id in open_orders:
        assert client.post("/v2/seller/order/cancellation-request", json=_request(order_id)).status_code == 201
    asked_at = ms_to_text(_ms("2026-11-21T00:00:00Z"))
    market.advance(timedelta(days=4))
    log = market.event_log("S-1001")
    for order_id in open_orders:
        events = [e for e in log if e["event"].get("orderId") == order_id and e["createdAt"] >= asked_at]
        answered_at = next(e["createdAt"] for e in events if e["type"] == CANCEL_DENIED)
        assert not [e for e in events if e["type"] == STATUS and e["createdAt"] <= answered_at]
    assert any(
        e["type"] == STATUS for e in log if e["event"].get("orderId") in open_orders and e["createdAt"] > asked_at
    )


@pytest.mark.parametrize(
    "change",
    [
        {"cancelReason": "BECAUSE"},
        {"cancelReason": None},
        {"orderCancellationRequestId": "not-a-uuid"},
        {"orderCancellationRequestId": 5},
        {"orderId": ""},
        {"orderId": "x" * 151},
        {"orderItem": []},
        {"orderItem": [{"orderItemId": "1", "quantity": 1}]},
        {"orderItem": [{"orderItemId": "1", "quantity": "0"}]},
        {"orderItem": [{"orderItemId": "1", "quantity": "-1"}]},
        {"orderItem": [{"orderItemId": "1"}]},
        {"orderItem": [{"orderItemId": "1", "quantity": "1", "sku": "X"}]},
        {"message": 42},
        {"note": "unknown field"},
    ],
)
def test_cancellation_requests_of_the_wrong_shape_are_400(
    market: Marketplace, client: httpx.Client, change: dict
) -> None:  # type: ignore[type-arg]
    market.generate(orders=5, days=1)
    order = _open_order(market)
    body = {**_request(order["orderId"]), **change}
    assert_error(client.post("/v2/seller/order/cancellation-request", json=body), 400)
    assert market.cancellation_requests("S-1001") == [
        r for r in market.cancellation_requests("S-1001") if r["source"] == "portal"
    ]


def test_a_cancellation_request_for_an_unknown_order_is_400(client: httpx.Client) -> None:
    body = _request("KL-2026-999999")
    body_error = assert_error(client.post("/v2/seller/order/cancellation-request", json=body), 400)
    assert body_error["errorList"][0]["code"] == "ORDER_NOT_FOUND"


def test_orders_of_the_clock_start_are_dated_from_it(market: Marketplace) -> None:
    assert market.now == START
    market.advance(timedelta(hours=1))
    assert market.now == START + timedelta(hours=1)
    with pytest.raises(ValueError):
        market.advance_to(START)
