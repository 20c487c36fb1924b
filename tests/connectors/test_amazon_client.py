"""The SP-API client and the shared HTTP side: usage plans, 429s, LWA, error sorting.

Everything runs on `httpx.MockTransport` with a fake clock: a minute of backoff costs
nothing, and every wait is asserted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from channelport.connectors.amazon_sp_api_client import USAGE_PLANS, AmazonClient, LwaCredentials, describe_error
from channelport.connectors.polling import HttpSettings, Limit, RateLimiter, RequestRefused, TokenBucket
from channelport.errors import ChannelUnavailable, CredentialsRejected, ProtocolError

ORDERS = {"payload": {"Orders": []}}


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeTime,
    *,
    lwa: bool = True,
    settings: HttpSettings | None = None,
) -> AmazonClient:
    credentials: LwaCredentials | str = (
        LwaCredentials("https://api.amazon.com/auth/o2/token", "client", "secret", "Atzr|refresh") if lwa else "Atza|fixed"
    )
    return AmazonClient(
        "https://sellingpartnerapi-eu.amazon.com",
        credentials,
        settings or HttpSettings(timeout=5, connect_timeout=2, retry_deadline=300, max_retry_wait=60),
        limiter=RateLimiter(USAGE_PLANS, Limit(5, 10), clock.monotonic),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )


def lwa_then(api: Callable[[httpx.Request], httpx.Response], tokens: list[str] | None = None):  # type: ignore[no-untyped-def]
    issued = tokens if tokens is not None else []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/o2/token":
            issued.append(f"Atza|{len(issued) + 1}")
            return httpx.Response(200, json={"access_token": issued[-1], "token_type": "bearer", "expires_in": 3600})
        return api(request)

    return handler


# --------------------------------------------------------------------------- buckets


def test_a_token_bucket_gives_the_burst_then_paces_at_the_rate():
    clock = FakeTime()
    bucket = TokenBucket(Limit(rate=0.5, burst=3), clock.monotonic)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert bucket.reserve() == pytest.approx(2.0)
    assert bucket.reserve() == pytest.approx(4.0)  # queued behind the one before
    clock.now += 10
    assert bucket.reserve() == pytest.approx(0.0)  # ten seconds refill five tokens, minus the debt


def test_the_channels_rate_header_replaces_the_published_rate():
    clock = FakeTime()
    bucket = TokenBucket(Limit(rate=0.0167, burst=1), clock.monotonic)
    bucket.reserve()
    bucket.set_rate(2.0)
    assert bucket.reserve() == pytest.approx(0.5)
    bucket.set_rate(float("nan"))
    bucket.set_rate(0)
    assert bucket.rate == 2.0


def test_get_orders_is_paced_by_its_published_usage_plan():
    clock = FakeTime()
    client = make_client(lwa_then(lambda r: httpx.Response(200, json=ORDERS)), clock)
    for _ in range(21):
        client.get_orders({"MarketplaceIds": "A1PA6795UKMFR9", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    assert clock.sleeps == [pytest.approx(1 / 0.0167, rel=1e-3)]  # burst 20, then one request a minute


# --------------------------------------------------------------------------- 429 and faults


def test_a_429_waits_for_the_rate_amazon_reports_then_retries():
    clock = FakeTime()
    answers = [httpx.Response(429, headers={"x-amzn-RateLimit-Limit": "0.5"},
                              json={"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}),
               httpx.Response(200, headers={"x-amzn-RateLimit-Limit": "0.5"}, json=ORDERS)]
    client = make_client(lwa_then(lambda r: answers.pop(0)), clock)
    client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    assert clock.sleeps == [2.0]
    assert client.http.limiter.bucket("getOrders").rate == 0.5


def test_a_429_honours_retry_after_capped_by_the_longest_wait():
    clock = FakeTime()
    answers = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(429, headers={"Retry-After": "900"}),
               httpx.Response(200, json=ORDERS)]
    client = make_client(lwa_then(lambda r: answers.pop(0)), clock)
    client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    assert clock.sleeps[:2] == [7.0, 60.0]


def test_an_outage_ends_in_channel_unavailable_within_the_deadline():
    clock = FakeTime()
    client = make_client(lwa_then(lambda r: httpx.Response(503, text="<html>down</html>")), clock,
                         settings=HttpSettings(retry_deadline=30, max_retry_wait=8))
    with pytest.raises(ChannelUnavailable, match=r"getOrders failed \d+ times.*HTTP 503 Service Unavailable"):
        client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    assert sum(clock.sleeps) <= 30 and max(clock.sleeps) <= 8


def test_connection_failures_and_truncated_bodies_are_retried():
    clock = FakeTime()
    answers: list[Any] = [httpx.ConnectError("refused"), httpx.Response(200, content=b'{"payload": {"Ord'),
                          httpx.Response(200, json=ORDERS)]

    def api(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = make_client(lwa_then(api), clock)
    assert client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"}).orders == ()
    assert len(clock.sleeps) == 2


def test_a_body_of_the_wrong_shape_is_fatal_at_once():
    clock = FakeTime()
    client = make_client(lwa_then(lambda r: httpx.Response(200, json={"payload": {"Orders": {"not": "a list"}}})), clock)
    with pytest.raises(ProtocolError, match="wrong shape: payload.Orders must be an array"):
        client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    assert clock.sleeps == []


def test_a_400_is_refused_with_amazons_message():
    clock = FakeTime()
    body = {"errors": [{"code": "InvalidInput", "message": "Invalid Input", "details": "LastUpdatedBefore"}]}
    client = make_client(lwa_then(lambda r: httpx.Response(400, json=body)), clock)
    with pytest.raises(RequestRefused, match=r"HTTP 400 Bad Request: InvalidInput: Invalid Input \(LastUpdatedBefore\)"):
        client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})


# --------------------------------------------------------------------------- LWA


def test_the_access_token_is_fetched_once_and_sent_until_it_nearly_expires():
    clock = FakeTime()
    sent: list[str] = []
    forms: list[dict[str, str]] = []
    issued: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/o2/token":
            forms.append(dict(httpx.QueryParams(request.content.decode())))
            issued.append(f"Atza|{len(issued) + 1}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 3600})
        sent.append(request.headers["x-amz-access-token"])
        return httpx.Response(200, json=ORDERS)

    client = make_client(handler, clock)
    for _ in range(3):
        client.get_order_address("302-1")
    clock.now += 3600 - 30  # inside the renewal margin
    client.get_order_address("302-1")
    assert sent == ["Atza|1", "Atza|1", "Atza|1", "Atza|2"]
    assert forms[0] == {"grant_type": "refresh_token", "refresh_token": "Atzr|refresh", "client_id": "client",
                        "client_secret": "secret"}


def test_an_expired_access_token_is_refreshed_once():
    clock = FakeTime()
    expired = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                           "details": "The access token you provided has expired."}]}
    issued: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["x-amz-access-token"] == "Atza|1":
            return httpx.Response(403, json=expired)
        return httpx.Response(200, json={"payload": {"AmazonOrderId": "302-1"}})

    client = make_client(lwa_then(api, issued), clock)
    assert client.get_order_address("302-1") == {"AmazonOrderId": "302-1"}
    assert issued == ["Atza|1", "Atza|2"]


def test_access_denied_after_a_refresh_is_credentials_rejected():
    clock = FakeTime()
    client = make_client(lwa_then(lambda r: httpx.Response(403, json={"errors": [
        {"code": "Unauthorized", "message": "Access to requested resource is denied."}]})), clock)
    with pytest.raises(CredentialsRejected, match="Unauthorized.*Seller Central"):
        client.get_order_items("302-1")


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"}, "invalid_grant"),
        (401, {"error": "invalid_client", "error_description": "Client authentication failed"}, "invalid_client"),
    ],
)
def test_a_refused_lwa_grant_or_client_is_credentials_rejected(status, body, says):
    clock = FakeTime()
    client = make_client(lambda r: httpx.Response(status, json=body), clock)
    with pytest.raises(CredentialsRejected, match=says):
        client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})


def test_order_items_follow_next_token_and_refuse_a_repeated_one():
    clock = FakeTime()
    pages = {None: ({"OrderItemId": "1", "ASIN": "A", "QuantityOrdered": 1}, "t1"),
             "t1": ({"OrderItemId": "2", "ASIN": "B", "QuantityOrdered": 1}, None)}

    def api(request: httpx.Request) -> httpx.Response:
        item, token = pages[request.url.params.get("NextToken")]
        payload: dict[str, Any] = {"AmazonOrderId": "302-1", "OrderItems": [item]}
        if token:
            payload["NextToken"] = token
        return httpx.Response(200, json={"payload": payload})

    client = make_client(lwa_then(api), clock)
    assert [i["OrderItemId"] for i in client.get_order_items("302-1")] == ["1", "2"]
    pages["t1"] = ({"OrderItemId": "2", "ASIN": "B", "QuantityOrdered": 1}, "t1")
    with pytest.raises(ProtocolError, match="keeps returning NextToken"):
        client.get_order_items("302-1")


def test_the_servers_date_header_is_the_channels_clock():
    clock = FakeTime()
    client = make_client(lwa_then(lambda r: httpx.Response(200, json=ORDERS,
                                                           headers={"Date": "Fri, 27 Nov 2026 10:00:00 GMT"})), clock)
    assert client.http.server_now() is None
    client.get_orders({"MarketplaceIds": "X", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    clock.now += 90
    assert client.http.server_now() == datetime(2026, 11, 27, 10, 1, 30, tzinfo=timezone.utc)


def test_describe_error_reads_both_error_shapes():
    assert describe_error(json.dumps({"errors": [{"code": "A", "message": "b"}]}).encode()) == "A: b"
    assert describe_error(b'{"error": "invalid_grant"}') == "invalid_grant"
    assert describe_error(b"<html>") is None
