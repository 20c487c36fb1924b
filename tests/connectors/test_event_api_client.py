"""Every fault class the protocol page allows, against a scripted channel and a fake clock.

Nothing here sleeps for real: `FakeClock.sleep` only moves the clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from channelport.connectors.base import AccountConfig
from channelport.connectors.event_api import EventApiConnector, EventApiSettings
from channelport.connectors.event_api_client import (
    Answer,
    Fatal,
    Ok,
    Retry,
    classify,
    classify_failure,
    retry_after,
)
from channelport.connectors.event_api_mapping import decode_page
from channelport.errors import ChannelUnavailable, CredentialsRejected, ProtocolError

from .event_api_support import (
    CONFIG,
    EMPTY_PAGE,
    FakeClock,
    ScriptedChannel,
    connector,
    entry,
    error,
    page,
    raw,
)

ONE_EVENT = httpx.Response(200, content=page(entry(id="ev-1")))


def pull_through(*steps: object, clock: FakeClock | None = None, **settings: object) -> tuple[list[str], FakeClock, ScriptedChannel]:
    clock = clock or FakeClock()
    channel = ScriptedChannel(steps, clock)
    with connector(channel, clock, **settings) as conn:
        batch = conn.pull(100)
    return [item.event_id for item in batch.items], clock, channel


# --------------------------------------------------------------------------- rate limits


def test_429_waits_as_long_as_retry_after_says() -> None:
    ids, clock, channel = pull_through(error(429, "RATE_LIMIT", "slow down", {"Retry-After": "7"}), ONE_EVENT)
    assert ids == ["ev-1"] and clock.sleeps == [7.0] and len(channel.requests) == 2


def test_429_with_fractional_retry_after() -> None:
    _, clock, _ = pull_through(error(429, headers={"Retry-After": "1.5"}), ONE_EVENT)
    assert clock.sleeps == [1.5]


@pytest.mark.parametrize("header", [None, "soon", "Wed, 21 Oct 2026 07:28:00 GMT", "-3", "nan", "inf", ""])
def test_429_without_a_usable_retry_after_backs_off(header: str | None) -> None:
    headers = {} if header is None else {"Retry-After": header}
    _, clock, _ = pull_through(error(429, headers=headers), error(429, headers=headers), ONE_EVENT)
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff (the test's jitter takes the top of the range)


def test_retry_after_is_capped_and_floored() -> None:
    _, clock, _ = pull_through(
        error(429, headers={"Retry-After": "3600"}), error(429, headers={"Retry-After": "0"}), ONE_EVENT,
        max_retry_wait=60,
    )
    assert clock.sleeps == [60.0, 0.1]


def test_rate_limited_for_longer_than_the_deadline_gives_up() -> None:
    with pytest.raises(ChannelUnavailable, match="429"):
        pull_through(error(429, headers={"Retry-After": "30"}), retry_deadline=100)


# --------------------------------------------------------------------------- server faults


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 520])
def test_transient_statuses_are_retried_even_without_a_json_body(status: int) -> None:
    ids, clock, channel = pull_through(
        raw(status, b"<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"}),
        raw(status, b""),
        error(status, "OOPS", "try later"),
        ONE_EVENT,
    )
    assert ids == ["ev-1"] and len(channel.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_backoff_grows_to_the_cap_and_jitter_stays_in_range() -> None:
    clock = FakeClock()
    draws: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        draws.append((low, high))
        return (low + high) / 2

    channel = ScriptedChannel([raw(503, b"")] * 9 + [ONE_EVENT], clock)
    conn = EventApiConnector(CONFIG, EventApiSettings(max_retry_wait=10), transport=channel.transport,
                             sleep=clock.sleep, monotonic=clock.monotonic, uniform=uniform)
    conn.pull(10)
    assert [high for _, high in draws] == [0.5, 1, 2, 4, 8, 10, 10, 10, 10]
    assert all(low == high / 2 for low, high in draws)
    assert all(wait <= 10 for wait in clock.sleeps)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.PoolTimeout("no connection free"),
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ProxyError("proxy said no"),
        httpx.DecodingError("bad gzip"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_timeouts_and_dropped_connections_are_retried(failure: Exception) -> None:
    ids, clock, channel = pull_through(failure, failure, ONE_EVENT)
    assert ids == ["ev-1"] and len(channel.requests) == 3 and len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "body",
    [
        b'{"eventList": [{"id": "ev-1", "type": "Channel:Or',
        b"",
        b"<html>upstream reset</html>",
        b'{"eventList": null}',
        b"[]",
        b'{"errorList": []}',
    ],
    ids=["cut", "empty", "html", "null-list", "array", "no-list"],
)
def test_a_200_that_is_not_a_whole_page_is_retried(body: bytes) -> None:
    ids, clock, channel = pull_through(raw(200, body), ONE_EVENT)
    assert ids == ["ev-1"] and len(channel.requests) == 2 and clock.sleeps == [0.5]


def test_a_body_cut_off_against_its_content_length_is_retried() -> None:
    def cut(request: httpx.Request) -> httpx.Response:
        def stream() -> Iterator[bytes]:
            yield b'{"eventList": ['
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

        return httpx.Response(200, content=stream(), headers={"Content-Length": "5000"})

    ids, _, channel = pull_through(cut, ONE_EVENT)
    assert ids == ["ev-1"] and len(channel.requests) == 2


def test_an_answer_that_trickles_in_past_the_request_limit_is_abandoned() -> None:
    clock = FakeClock()

    def trickle(request: httpx.Request) -> httpx.Response:
        def stream() -> Iterator[bytes]:
            for _ in range(100):
                clock.now += 4.0  # each chunk arrives within the read timeout ...
                yield b" "
            yield b'{"eventList": []}'

        return httpx.Response(200, content=stream())

    ids, clock, channel = pull_through(trickle, ONE_EVENT, clock=clock, timeout=30, connect_timeout=5)
    assert ids == ["ev-1"] and len(channel.requests) == 2  # ... but the whole answer may take at most 35 s


# --------------------------------------------------------------------------- giving up


def test_a_long_outage_ends_in_channel_unavailable_at_the_deadline_without_sleeping() -> None:
    clock = FakeClock()
    channel = ScriptedChannel([error(503, "MAINTENANCE", "down for maintenance")], clock, request_cost=0.2)
    started = time.monotonic()
    with connector(channel, clock, retry_deadline=300, max_retry_wait=60) as conn, pytest.raises(ChannelUnavailable) as caught:
        conn.pull(100)
    assert time.monotonic() - started < 5  # nothing slept for real
    message = str(caught.value)
    assert "503" in message and "MAINTENANCE: down for maintenance" in message and "300 s" in message
    assert f"failed {len(channel.requests)} times" in message
    spent = clock.now - 1000.0
    assert spent <= 300 and sum(clock.sleeps) <= 300
    assert max(clock.sleeps) == 60 and len(channel.requests) >= 8


def test_slow_timeouts_count_against_the_deadline() -> None:
    clock = FakeClock()
    channel = ScriptedChannel([httpx.ReadTimeout("timed out")], clock, request_cost=30.0)
    with connector(channel, clock, retry_deadline=120) as conn, pytest.raises(ChannelUnavailable, match="ReadTimeout"):
        conn.pull(1)
    assert clock.now - 1000.0 <= 120 + 30  # the last request may start before the deadline
    assert len(channel.requests) <= 5


def test_a_zero_deadline_means_one_attempt() -> None:
    channel = ScriptedChannel([raw(502, b"bad gateway")])
    with connector(channel, retry_deadline=0) as conn, pytest.raises(ChannelUnavailable, match="502"):
        conn.pull(1)
    assert len(channel.requests) == 1


# --------------------------------------------------------------------------- fatal answers


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_are_never_retried(status: int) -> None:
    clock = FakeClock()
    channel = ScriptedChannel([error(status, "UNAUTHORIZED", "token expired"), ONE_EVENT], clock)
    with connector(channel, clock) as conn, pytest.raises(CredentialsRejected) as caught:
        conn.pull(10)
    assert len(channel.requests) == 1 and clock.sleeps == []
    message = str(caught.value)
    assert "rejected the credentials" in message and str(status) in message and "token expired" in message
    assert "renew" in message


def test_rejected_credentials_without_a_body() -> None:
    channel = ScriptedChannel([raw(401, b"")])
    with connector(channel) as conn, pytest.raises(CredentialsRejected, match="HTTP 401 Unauthorized"):
        conn.pull(10)


@pytest.mark.parametrize("status", [400, 404, 405, 409, 422])
def test_other_client_errors_are_protocol_errors_with_the_servers_message(status: int) -> None:
    channel = ScriptedChannel([error(status, "INVALID_LIMIT", "limit must be between 1 and 1000"), ONE_EVENT])
    with connector(channel) as conn, pytest.raises(ProtocolError) as caught:
        conn.pull(10)
    assert len(channel.requests) == 1
    assert "INVALID_LIMIT: limit must be between 1 and 1000" in str(caught.value)
    assert f"GET /v2/seller/event answered HTTP {status}" in str(caught.value)


def test_a_400_without_an_error_list_quotes_the_body() -> None:
    channel = ScriptedChannel([raw(400, b"<h1>Bad Request</h1>")])
    with connector(channel) as conn, pytest.raises(ProtocolError, match="Bad Request"):
        conn.pull(10)


def test_a_redirect_is_not_followed() -> None:
    channel = ScriptedChannel([httpx.Response(302, headers={"Location": "https://elsewhere.example/"})])
    with connector(channel) as conn, pytest.raises(ProtocolError, match="302"):
        conn.pull(10)


@pytest.mark.parametrize(
    "failure", [httpx.UnsupportedProtocol("ftp?"), httpx.LocalProtocolError("bad header")], ids=lambda e: type(e).__name__
)
def test_failures_retrying_cannot_fix_are_protocol_errors(failure: Exception) -> None:
    channel = ScriptedChannel([failure, ONE_EVENT])
    with connector(channel) as conn, pytest.raises(ProtocolError):
        conn.pull(10)
    assert len(channel.requests) == 1


def test_no_httpx_exception_escapes_for_an_unreachable_host() -> None:
    # a real transport against a closed local port: ConnectError, retried, then ChannelUnavailable
    clock = FakeClock()
    config = AccountConfig(url="http://127.0.0.1:9", seller_id="S-1001", token="t")
    conn = EventApiConnector(config, EventApiSettings(retry_deadline=2, connect_timeout=1), sleep=clock.sleep,
                             monotonic=clock.monotonic)
    with conn, pytest.raises(ChannelUnavailable, match="ConnectError"):
        conn.pull(1)


# --------------------------------------------------------------------------- the request itself


def test_requests_carry_the_token_and_the_accounts_base_path() -> None:
    channel = ScriptedChannel([EMPTY_PAGE])
    with connector(channel) as conn:
        assert conn.pull(5000).empty
    request = channel.requests[0]
    assert request.method == "GET"
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.url.path == "/api/v2/seller/event"
    assert request.url.params["limit"] == "1000"


# --------------------------------------------------------------------------- the classifier alone


def _answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, httpx.Headers(headers or {}), body)


def test_classify_in_one_table() -> None:
    assert classify(_answer(200, b'{"eventList": []}'), decode_page, "GET x") == Ok([])
    assert isinstance(classify(_answer(200, b"{"), decode_page, "GET x"), Retry)
    assert classify(_answer(429, headers={"Retry-After": "3"}), decode_page, "GET x") == Retry(
        "HTTP 429 Too Many Requests", wait=3.0
    )
    assert isinstance(classify(_answer(503), decode_page, "GET x"), Retry)
    verdict = classify(_answer(401), decode_page, "GET x")
    assert isinstance(verdict, Fatal) and isinstance(verdict.error, CredentialsRejected)
    verdict = classify(_answer(418), decode_page, "GET x")
    assert isinstance(verdict, Fatal) and isinstance(verdict.error, ProtocolError)
    verdict = classify(_answer(501), decode_page, "GET x")
    assert isinstance(verdict, Fatal) and isinstance(verdict.error, ProtocolError)
    assert isinstance(classify_failure(httpx.ReadTimeout("x")), Retry)
    assert isinstance(classify_failure(httpx.UnsupportedProtocol("x")), Fatal)
    assert retry_after({"retry-after": " 12 "}) == 12.0
    assert retry_after({}) is None
