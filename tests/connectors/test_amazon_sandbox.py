"""Conformance with Amazon's own model: the client against the official sandbox pairs.

The sandbox server (amazon_sandbox.py) answers exactly the request/response pairs of
ordersV0.json and refuses anything else; what the client parses, and what the mapping
makes of it, is validated against the model's definitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from channelport.connectors.amazon_sp_api import AmazonKind
from channelport.connectors.amazon_sp_api_client import AmazonClient
from channelport.connectors.amazon_sp_api_mapping import WireOrder, WireOrderItem, parse_order, snapshot
from channelport.connectors.base import AccountConfig, EventImport
from channelport.connectors.polling import HttpSettings, RequestRefused
from channelport.domain.events import Address, EventType, OrderSeen
from tests.connectors.amazon_sandbox import Sandbox, operations, pairs, spec_or_skip
from tests.connectors.loopback import LoopbackServer
from tests.connectors.swagger_check import definition, validate

US = "ATVPDKIKX0DER"
FAST = HttpSettings(timeout=5, connect_timeout=2, retry_deadline=1, max_retry_wait=0.05)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return spec_or_skip()


@pytest.fixture(scope="module")
def sandbox(spec: dict[str, Any]) -> Iterator[tuple[Sandbox, LoopbackServer]]:
    box = Sandbox(spec)
    with LoopbackServer(box.app) as server:
        yield box, server


@pytest.fixture
def client(sandbox: tuple[Sandbox, LoopbackServer]) -> Iterator[AmazonClient]:
    _box, server = sandbox
    amazon = AmazonClient(server.url, "Atza|sandbox", FAST)
    yield amazon
    amazon.close()


def test_the_sandbox_pairs_themselves_fit_the_model(spec):
    """The fixture first: every pair's response body validates against its operation's schema."""
    found = pairs(spec)
    assert {p.operation for p in found} >= {"getOrders", "getOrder", "getOrderItems", "getOrderAddress"}
    for pair in found:
        op = next(o for o in operations(spec) if o.operation == pair.operation)
        schema = spec["paths"][op.path][op.method.lower()]["responses"][str(pair.status)].get("schema")
        if schema is not None:
            assert validate(pair.response, schema, spec) == [], pair


def test_get_orders_first_page(client, spec):
    page = client.get_orders({"CreatedAfter": "TEST_CASE_200", "MarketplaceIds": US})
    assert [o["AmazonOrderId"] for o in page.orders] == ["902-1845936-5435065", "902-8745147-1934268"]
    assert page.next_token is None
    assert validate(page.payload, definition(spec, "OrdersList"), spec) == []
    for record in page.orders:
        order = parse_order(record)
        assert validate(order.model_dump(mode="json", exclude_none=True), definition(spec, "Order"), spec) == []


def test_get_orders_next_token_sequence(client, sandbox):
    box, _server = sandbox
    first = client.get_orders({"CreatedAfter": "TEST_CASE_200_NEXT_TOKEN", "MarketplaceIds": US})
    assert first.next_token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    second = client.get_orders(
        {"CreatedAfter": "TEST_CASE_200_NEXT_TOKEN", "MarketplaceIds": US, "NextToken": first.next_token}
    )
    assert second.next_token is None and [o["OrderStatus"] for o in second.orders] == ["Pending"]
    assert box.requests[-1][2] == {
        "CreatedAfter": "TEST_CASE_200_NEXT_TOKEN", "MarketplaceIds": [US], "NextToken": "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    }


def test_the_400_pairs_become_readable_errors(client):
    with pytest.raises(RequestRefused, match="getOrders answered HTTP 400 Bad Request: InvalidInput: Invalid Input") as err:
        client.get_orders({"CreatedAfter": "TEST_CASE_400"})
    assert err.value.status == 400
    for call in (client.get_order_items, client.get_order_address, client.get_order):
        with pytest.raises(RequestRefused, match="InvalidInput"):
            call("TEST_CASE_400")


def test_items_and_address_parse_and_map_into_a_valid_snapshot(client, spec):
    listed = client.get_orders({"CreatedAfter": "TEST_CASE_200", "MarketplaceIds": US}).orders[0]
    items = client.get_order_items("TEST_CASE_200")
    address = client.get_order_address("TEST_CASE_200")
    for item in items:
        assert validate(item, definition(spec, "OrderItem"), spec) == []
        parsed = WireOrderItem.model_validate(item).model_dump(mode="json", exclude_none=True)
        assert validate(parsed, definition(spec, "OrderItem"), spec) == []
    assert validate(address, definition(spec, "OrderAddress"), spec) == []

    received = snapshot(parse_order(listed), listed, items, address, seller_id="A2SELLER")
    assert received.problem is None
    seen = received.event
    assert isinstance(seen, OrderSeen)
    order = seen.order
    assert (seen.order_id, seen.event_id) == ("902-1845936-5435065", "amz:902-1845936-5435065:1970-01-19T03:58:32.000Z")
    assert order.order_status == "ACCEPTED" and order.currency == "USD" and order.payment_method == "Standard"
    (line,) = order.lines
    # US prices exclude tax: 10.00 + 1.01 tax = 11.01, the order total.
    assert (line.order_item_id, line.sku, line.quantity) == ("05015851154158", "NABetaASINB00551Q3CS", Decimal(1))
    assert (line.total, line.gross_price, line.tax_percent) == (Decimal("11.01"), Decimal("11.01"), Decimal("10.1"))
    assert (line.item_status, line.item_payment_status) == ("UNSHIPPED", "PAID")
    assert order.shipping_address == Address(
        last_name="MFNIntegrationTestMerchant", street="2201 WESTLAKE AVE", postcode="98121-2778",
        city="SEATTLE, WA", country="US", phone="+1 480-386-0930 ext. 73824",
    )
    assert seen.cancellations == ()  # the buyer asked to cancel; Amazon has not cancelled it (yet)


def test_get_order_pairs_parse_as_orders(client, spec):
    for case in ("TEST_CASE_200", "TEST_CASE_IBA_200"):
        payload = client.get_order(case)
        assert validate(payload, definition(spec, "Order"), spec) == []
        order = WireOrder.model_validate(payload)
        assert order.LastUpdateDate.tzinfo is not None


def test_the_sandbox_refuses_what_no_pair_has(client, sandbox):
    _box, server = sandbox
    with pytest.raises(RequestRefused, match="SandboxNoMatch"):
        client.get_orders({"CreatedAfter": "TEST_CASE_200", "MarketplaceIds": "A1PA6795UKMFR9"})
    with pytest.raises(RequestRefused, match="SandboxUnknownParameter"):
        client.get_orders({"CreatedAfter": "TEST_CASE_200", "MarketplaceIds": US, "Bogus": "1"})
    anonymous = httpx.get(f"{server.url}/orders/v0/orders", params={"CreatedAfter": "TEST_CASE_200", "MarketplaceIds": US})
    assert anonymous.status_code == 403


def test_the_connectors_listing_request_is_one_the_model_declares(spec):
    """What the connector sends to getOrders: declared parameters, of the declared types."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/auth/o2/token":
            return httpx.Response(200, json={"access_token": "Atza|x", "expires_in": 3600})
        if request.url.path == "/tokens/2021-03-01/restrictedDataToken":
            return httpx.Response(200, json={"restrictedDataToken": "Atz.sprdt|x", "expiresIn": 3600})
        return httpx.Response(200, json={"payload": {"Orders": []}})

    config = AccountConfig(
        url="https://sellingpartnerapi-na.amazon.com", seller_id="A2SELLER", token="Atzr|r",
        settings={"marketplace_ids": f"{US},A2EUQ1WTGCTBG2", "lwa_client_id": "client"},
        secrets={"lwa_client_secret": "secret"},
    )
    connector = AmazonKind.create(config, transport=httpx.MockTransport(handler))
    connector.subscribe([EventImport(EventType.ORDER, True, datetime(2026, 11, 1, tzinfo=timezone.utc), True)])
    assert connector.pull(100).empty
    listing = [r for r in seen if r.url.path == "/orders/v0/orders"]
    assert len(listing) == 1
    declared = {p["name"]: p for p in spec["paths"]["/orders/v0/orders"]["get"]["parameters"]}
    params = dict(listing[0].url.params)
    assert set(params) <= set(declared)
    assert {name for name, p in declared.items() if p.get("required")} <= set(params)
    assert "CreatedAfter" not in params and "CreatedBefore" not in params  # the model forbids mixing them
    assert params["MarketplaceIds"].split(",") == [US, "A2EUQ1WTGCTBG2"]
    assert 1 <= int(params["MaxResultsPerPage"]) <= 100
    assert params["LastUpdatedAfter"] == "2026-11-01T00:00:00Z"
    assert listing[0].headers["x-amz-access-token"] == "Atz.sprdt|x"  # a Restricted Data Token, for addresses
    rdt = next(r for r in seen if r.url.path == "/tokens/2021-03-01/restrictedDataToken")
    assert rdt.headers["x-amz-access-token"] == "Atza|x"
    assert json.loads(rdt.content) == {"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]}]}
    token_request = next(r for r in seen if r.url.path == "/auth/o2/token")
    assert token_request.url.host == "api.amazon.com"
    assert b"grant_type=refresh_token" in token_request.content
