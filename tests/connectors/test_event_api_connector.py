"""The connector protocol on top of the client: subscribe, pull, ack, and the kind."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from channelport.connectors.base import AccountConfig, Batch, EventImport
from channelport.connectors.event_api import EventApiConnector, EventApiKind, EventApiSettings
from channelport.domain.events import EventType, NewOrder
from channelport.errors import ChannelUnavailable, ProtocolError, UsageError

from .event_api_support import (
    ACKED,
    CONFIG,
    EMPTY_PAGE,
    NEW,
    STATUS,
    FakeClock,
    ScriptedChannel,
    connector,
    entry,
    error,
    ok,
    page,
    raw,
)

UTC = timezone.utc
FROM = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
ALL_WIRE = [
    "Channel:Order.New",
    "Channel:Order.StatusUpdate",
    "Channel:Order.AddressUpdate",
    "Channel:Order.CancellationAccepted",
    "Channel:Order.CancellationDenied",
]


def imports_answer(enabled: list[str], created_after: str | None = None) -> httpx.Response:
    return ok(
        {
            "eventImports": [
                {"type": wire, "isImportEnabled": wire in enabled, "createdAfter": created_after if wire in enabled else None}
                for wire in ALL_WIRE
            ]
        }
    )


# --------------------------------------------------------------------------- subscribe


def test_subscribe_lists_enabled_types_and_sends_created_after_only_for_pending_rows() -> None:
    channel = ScriptedChannel([imports_answer(ALL_WIRE[:4])])
    rows = [
        EventImport(EventType.ORDER, enabled=True, import_from=FROM, pending=True),
        EventImport(EventType.STATUS, enabled=True, import_from=FROM + timedelta(hours=1), pending=False),  # delivered before
        EventImport(EventType.ADDRESS, enabled=True),
        EventImport(EventType.CANCELLATION_ACCEPTED, enabled=True, import_from=None, pending=True),
        EventImport(EventType.CANCELLATION_DENIED, enabled=False, import_from=FROM, pending=True),
    ]
    with connector(channel) as conn:
        conn.subscribe(rows)
    request = channel.requests[0]
    assert request.method == "PUT" and request.url.path == "/api/v2/seller/event-imports"
    assert request.headers["Content-Type"] == "application/json"
    assert channel.bodies()[0] == {
        "eventImports": [
            {"type": "Channel:Order.New", "createdAfter": "2026-11-19T23:00:00.000Z"},
            {"type": "Channel:Order.StatusUpdate"},
            {"type": "Channel:Order.AddressUpdate"},
            {"type": "Channel:Order.CancellationAccepted"},
        ]
    }


def test_created_after_is_sent_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    channel = ScriptedChannel([imports_answer(ALL_WIRE[:1])])
    with connector(channel) as conn:
        conn.subscribe([EventImport(EventType.ORDER, True, datetime(2026, 11, 20, 0, 0, 0, 123456, tzinfo=berlin), True)])
    assert channel.bodies()[0]["eventImports"] == [{"type": "Channel:Order.New", "createdAfter": "2026-11-19T23:00:00.123Z"}]


def test_subscribe_with_nothing_enabled_sends_an_empty_replace() -> None:
    channel = ScriptedChannel([imports_answer([])])
    with connector(channel) as conn:
        conn.subscribe([EventImport(kind, enabled=False) for kind in EventType])
    assert channel.bodies()[0] == {"eventImports": []}


@pytest.mark.parametrize(
    "answer",
    [
        imports_answer(ALL_WIRE[1:]),  # New shown disabled
        ok({"eventImports": [{"type": "Channel:Order.StatusUpdate", "isImportEnabled": True}]}),  # New missing
        ok({"eventImports": []}),
    ],
    ids=["disabled", "missing", "empty"],
)
def test_an_answer_that_does_not_confirm_an_enabled_type_is_a_protocol_error(answer: httpx.Response) -> None:
    channel = ScriptedChannel([answer])
    with connector(channel) as conn, pytest.raises(ProtocolError, match="Channel:Order.New"):
        conn.subscribe([EventImport(EventType.ORDER, True), EventImport(EventType.STATUS, True)])


def test_an_answer_may_list_types_this_version_does_not_know() -> None:
    body = imports_answer(ALL_WIRE[:1]).json()
    body["eventImports"].append({"type": "Channel:Order.RefundIssued", "isImportEnabled": True, "createdAfter": None})
    channel = ScriptedChannel([ok(body)])
    with connector(channel) as conn:
        conn.subscribe([EventImport(EventType.ORDER, True)])


def test_a_truncated_subscribe_answer_is_retried_then_accepted() -> None:
    clock = FakeClock()
    channel = ScriptedChannel([raw(200, b'{"eventImports": [{"type": "Chan'), imports_answer(ALL_WIRE[:1])], clock)
    with connector(channel, clock) as conn:
        conn.subscribe([EventImport(EventType.ORDER, True, FROM, True)])
    assert len(channel.requests) == 2 and channel.bodies()[0] == channel.bodies()[1]


def test_a_400_on_subscribe_names_the_servers_reason() -> None:
    channel = ScriptedChannel([error(400, "INVALID_TIMESTAMP", "createdAfter is not RFC 3339")])
    with connector(channel) as conn, pytest.raises(ProtocolError, match="INVALID_TIMESTAMP"):
        conn.subscribe([EventImport(EventType.ORDER, True, FROM, True)])


# --------------------------------------------------------------------------- pull


def test_pull_maps_a_page_into_a_batch() -> None:
    channel = ScriptedChannel([httpx.Response(200, content=page(
        entry(NEW, id="a"), entry(STATUS, id="b"), entry(STATUS, id=None), entry("Channel:Order.Gift", {}, id="c"),
        entry(STATUS, {"orderId": 5}, id="d"), entry(NEW, id="a"),
    ))])
    with connector(channel) as conn:
        batch = conn.pull(50)
    assert channel.requests[0].url.params["limit"] == "50"
    assert len(batch.items) == 6 and not batch.empty and batch.state is None
    assert isinstance(batch.items[0].event, NewOrder)
    assert batch.items[3].unknown and batch.items[4].problem
    assert batch.ack_ids == ("a", "b", "c", "d")


def test_an_empty_page_is_an_empty_batch() -> None:
    channel = ScriptedChannel([EMPTY_PAGE])
    with connector(channel) as conn:
        batch = conn.pull(1)
    assert batch.empty and batch.ack_ids == ()


@pytest.mark.parametrize(("asked", "sent"), [(1, "1"), (1000, "1000"), (1001, "1000"), (10**6, "1000")])
def test_pull_asks_for_at_most_1000(asked: int, sent: str) -> None:
    channel = ScriptedChannel([EMPTY_PAGE])
    with connector(channel) as conn:
        conn.pull(asked)
    assert channel.requests[0].url.params["limit"] == sent


def test_pull_refuses_a_limit_below_one() -> None:
    with connector(ScriptedChannel([EMPTY_PAGE])) as conn, pytest.raises(ValueError):
        conn.pull(0)


# --------------------------------------------------------------------------- ack


@pytest.mark.parametrize("at_once", [1, 4])
def test_ack_sends_the_ids_in_chunks_of_100(at_once: int) -> None:
    channel = ScriptedChannel([ACKED])
    ids = tuple(f"ev-{n}" for n in range(250))
    with connector(channel, ack_concurrency=at_once) as conn:
        conn.ack(Batch(items=(), ack_ids=ids))
    assert [request.method for request in channel.requests] == ["DELETE"] * 3
    assert all(request.url.path == "/api/v2/seller/event" for request in channel.requests)
    chunks = [body["eventIdList"] for body in channel.bodies()]
    if at_once == 1:  # one after another, in the ids' order
        assert [len(chunk) for chunk in chunks] == [100, 100, 50]
        assert tuple(sum(chunks, [])) == ids
    else:  # at once: the same chunks, in whatever order they arrived
        assert sorted(map(tuple, chunks)) == sorted([ids[:100], ids[100:200], ids[200:]])


def _acks_in_flight(at_once: int, pages: int) -> tuple[int, int]:
    """Acknowledge `pages` hundred ids with a channel that holds each answer until `at_once` are in flight.

    Returns the most requests ever in flight together, and how many were sent.
    """
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most
    together = threading.Barrier(at_once, timeout=30)  # broken, not hung, if they never come together

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        together.wait()
        with lock:
            in_flight[0] -= 1
        return ok({"acknowledged": len(json.loads(request.content)["eventIdList"])})

    channel = ScriptedChannel([answer])
    with connector(channel, ack_concurrency=at_once) as conn:
        conn.ack(Batch(ack_ids=tuple(f"ev-{n}" for n in range(100 * pages))))
    return in_flight[1], len(channel.requests)


def test_ack_sends_up_to_ack_concurrency_requests_at_once() -> None:
    """Ten round trips one after another per page would hold a sync to the network's pace."""
    assert _acks_in_flight(at_once=4, pages=8) == (4, 8)
    assert _acks_in_flight(at_once=10, pages=10) == (10, 10)


def test_a_failed_ack_request_lets_the_others_finish_and_is_raised() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        chunk = json.loads(request.content)["eventIdList"]
        return error(400, "BAD_ID", "no such id") if "ev-350" in chunk else ok({"acknowledged": len(chunk)})

    channel = ScriptedChannel([answer])
    with connector(channel) as conn, pytest.raises(ProtocolError, match="BAD_ID"):
        conn.ack(Batch(ack_ids=tuple(f"ev-{n}" for n in range(1000))))
    assert len(channel.requests) == 10  # the other nine were sent and answered all the same


@pytest.mark.parametrize("value", [0, 11, "many"])
def test_ack_concurrency_is_checked(value: Any) -> None:
    config = AccountConfig(url=CONFIG.url, seller_id=CONFIG.seller_id, token=CONFIG.token,
                           settings={"ack_concurrency": value})
    with pytest.raises(UsageError, match="ack_concurrency"):
        EventApiKind.create(config)


def test_ack_of_nothing_sends_nothing() -> None:
    channel = ScriptedChannel([ACKED])
    with connector(channel) as conn:
        conn.ack(Batch())
    assert channel.requests == []


def test_ack_is_retried_like_everything_else() -> None:
    clock = FakeClock()
    channel = ScriptedChannel([raw(503, b""), httpx.ReadError("reset"), raw(200, b'{"ackno'), ACKED], clock)
    with connector(channel, clock) as conn:
        conn.ack(Batch(ack_ids=("a",)))
    assert len(channel.requests) == 4 and len(clock.sleeps) == 3


def test_ack_gives_up_at_the_deadline() -> None:
    channel = ScriptedChannel([raw(500, b"oops")])
    with connector(channel, retry_deadline=10) as conn, pytest.raises(ChannelUnavailable, match="DELETE /v2/seller/event"):
        conn.ack(Batch(ack_ids=("a",)))


# --------------------------------------------------------------------------- the kind


def test_the_kind_declares_itself() -> None:
    assert EventApiKind.name == "event-api"
    assert EventApiKind.title
    assert EventApiKind.secret_names == ()
    assert EventApiKind.settings_model is EventApiSettings
    defaults = EventApiSettings()
    assert (defaults.timeout, defaults.connect_timeout, defaults.retry_deadline, defaults.max_retry_wait) == (30, 5, 300, 60)
    assert 1000 // 100 / defaults.ack_concurrency == 2  # a full page's ten acknowledgements in two rounds


def test_the_entry_point_loads_the_kind() -> None:
    from importlib.metadata import entry_points

    (point,) = [point for point in entry_points(group="channelport.connectors") if point.name == "event-api"]
    assert point.load() is EventApiKind


def test_create_takes_settings_as_the_cli_gives_them() -> None:
    config = AccountConfig(url="https://channel.example", seller_id="S-1001", token="t",
                           settings={"timeout": "12.5", "retry_deadline": "60"})
    channel = ScriptedChannel([EMPTY_PAGE])
    conn = EventApiKind.create(config, None, transport=channel.transport)
    assert isinstance(conn, EventApiConnector)
    assert conn.settings.timeout == 12.5 and conn.settings.retry_deadline == 60
    assert conn.pull(1).empty
    conn.close()


@pytest.mark.parametrize(
    "settings",
    [{"timeout": "0"}, {"timeout": "soon"}, {"retry_deadline": "-1"}, {"max_retry_wait": "inf"}, {"retries": "3"}],
)
def test_create_refuses_bad_settings_with_a_usage_error(settings: dict[str, Any]) -> None:
    config = AccountConfig(url="https://channel.example", seller_id="S-1001", token="t", settings=settings)
    with pytest.raises(UsageError, match="event-api settings"):
        EventApiKind.create(config)


@pytest.mark.parametrize("url", ["channel.example", "ftp://channel.example", ""])
def test_create_refuses_a_url_that_is_not_http(url: str) -> None:
    with pytest.raises(UsageError, match="http"):
        EventApiKind.create(AccountConfig(url=url, seller_id="S-1001", token="t"))


def test_close_closes_the_http_transport() -> None:
    closed: list[bool] = []

    class Recording(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

    conn = EventApiConnector(CONFIG, transport=Recording(lambda request: httpx.Response(200, json={"eventList": []})))
    conn.close()
    assert closed == [True]
    with pytest.raises(RuntimeError, match="closed"):
        conn.pull(10)


@pytest.mark.parametrize("base", ["https://channel.example/api", "https://channel.example/api/"])
def test_requests_go_under_the_base_urls_path_with_the_token(base: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"eventList": []})

    config = AccountConfig(url=base, seller_id="S-1001", token="secret-token")
    with EventApiConnector(config, transport=httpx.MockTransport(answer)) as conn:
        conn.pull(250)
        conn.pull(5000)
    assert [str(request.url) for request in seen] == [
        "https://channel.example/api/v2/seller/event?limit=250",
        "https://channel.example/api/v2/seller/event?limit=1000",
    ]
    assert seen[0].headers["authorization"] == "Bearer secret-token"
    assert seen[0].headers["accept"] == "application/json"
    assert seen[0].headers["user-agent"].startswith("channelport/")
