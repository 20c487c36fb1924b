"""A channel server that misbehaves against the merchant, end to end over loopback HTTP.

- Events whose `sellerId` is another seller's, delivered on this account's queue (a
  compromised or mixed-up channel): none of them creates or changes one of the account's
  orders; each is recorded as rejected with the reason, where the merchant sees it.
  (tests/domain/test_convergence.py proves the rule for any delivery order; this proves the
  whole path: HTTP, mapping, inbox, store, export.)
- A channel that quotes the token back in its 401 answer: the token must not end up in
  the sync journal, the account's "credentials rejected" text, the REST API or the logs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from channelport.cli import app as cli_app
from channelport.services import accounts, event_imports, manual_sync, runs
from channelport.services.orders import export_orders
from channelport.store.db import read_only
from channelport.store.tables import received_events
from tests.connectors.loopback import LoopbackServer
from tests.security.conftest import SELLER_ONE, SELLER_TWO, TOKEN_ONE, TOKEN_TWO
from tests.security.leaks import find
from tests.sync.conftest import FAST, mismatches

NEW = "Channel:Order.New"
STATUS = "Channel:Order.StatusUpdate"
ADDRESS = "Channel:Order.AddressUpdate"
ACCEPTED = "Channel:Order.CancellationAccepted"


def sync(rt, name: str):  # type: ignore[no-untyped-def]
    (report,) = manual_sync.sync_accounts(rt, names=[name])
    assert report.status == "succeeded", report.error
    return report


def test_events_of_another_seller_never_reach_the_accounts_orders(rt, api, server, market):
    accounts.add_account(rt, name="shop-one", kind="event-api", url=server.url, seller_id=SELLER_ONE, token=TOKEN_ONE,
                         settings=FAST)
    event_imports.request_imports(rt, "shop-one", day=date(2026, 11, 1))
    market.advance(timedelta(days=2))
    sync(rt, "shop-one")
    before = {o["orderId"]: o for o in export_orders(rt, accounts=["shop-one"])}
    assert len(before) > 5
    victim = sorted(before)[0]

    # The other seller's real order, and forged changes to one of this account's orders, all
    # on this account's queue with the other seller's id.
    foreign_order = next(e["event"] for e in market.event_log(SELLER_TWO) if e["type"] == NEW)
    forged = {
        NEW: foreign_order,
        STATUS: {"sellerId": SELLER_TWO, "orderId": victim, "orderStatus": "CANCELED_BY_SELLER", "orderItems": []},
        ADDRESS: {"sellerId": SELLER_TWO, "orderId": victim, "shippingAddress": {
            "lastName": "Mallory", "street": "Umleitung", "houseNumber": "1", "postcode": "66666",
            "city": "Nirgendwo", "country": "DE"}},
        ACCEPTED: {"sellerId": SELLER_TWO, "orderId": victim, "orderCancellationRequestId": "forged-cancel-1",
                   "orderItem": [{"orderItemId": "1", "quantity": "1"}], "cancelReason": "OUT_OF_STOCK"},
    }
    market.advance(timedelta(minutes=5))
    for type_, payload in forged.items():
        market.inject_unknown_event(SELLER_ONE, type_=type_, payload=copy.deepcopy(payload))
    # and the same kinds of forgery spelled as the account's own seller id in another case
    market.inject_unknown_event(SELLER_ONE, type_=STATUS, payload={**forged[STATUS], "sellerId": SELLER_ONE.lower()})
    report = sync(rt, "shop-one")

    assert report.counts.get("order", {}).get("rejected") == 1, report.counts
    after = {o["orderId"]: o for o in export_orders(rt, accounts=["shop-one"])}
    assert foreign_order["orderId"] not in after
    assert after[victim] == before[victim], "a forged event changed the account's order"
    assert mismatches(rt, market, SELLER_ONE, "shop-one") == []  # still exactly the channel's truth
    with read_only(rt.engine) as conn:
        rejected = conn.execute(
            select(received_events.c.event_type, received_events.c.reason).where(received_events.c.outcome == "rejected")
        ).all()
    assert len(rejected) == len(forged) + 1
    assert all("is not this account's seller 'S-1001'" in reason for _type, reason in rejected), rejected
    # the merchant finds them where rejected events are listed
    listed = api.get("/api/v1/events", params={"outcome": "rejected", "account": "shop-one"}).json()
    assert len(listed) == len(forged) + 1 and all("sellerId" in e["reason"] for e in listed)


# --------------------------------------------------------------------------- a channel quoting the token


@pytest.fixture
def quoting_channel() -> Iterator[LoopbackServer]:
    """Refuses every request with 401 and an `errorList` that quotes the bearer token it got."""

    async def refuse(request: Request) -> JSONResponse:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        return JSONResponse({"errorList": [{"code": "UNAUTHORIZED", "message": f"token {presented} has expired"}]},
                            status_code=401)

    app = Starlette(routes=[Route("/{path:path}", refuse, methods=["GET", "PUT", "POST", "DELETE"])])
    with LoopbackServer(app) as channel:
        yield channel


def surfaces_after_a_refusal(rt, api, channel: LoopbackServer) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    accounts.add_account(rt, name="quoted", kind="event-api", url=channel.url, seller_id=SELLER_TWO,
                         token=TOKEN_TWO, settings=FAST)
    event_imports.request_imports(rt, "quoted", day=date(2026, 11, 1))
    (report,) = manual_sync.sync_accounts(rt, names=["quoted"])
    assert report.status == "failed" and "credentials rejected" in report.error
    runs_cli = CliRunner().invoke(cli_app, ["runs", "--json"])
    return {
        "the sync report": report.error,
        "the sync journal": repr([runs.run_json(r) for r in runs.list_runs(rt)]),
        "the account": repr(accounts.get_account(rt, "quoted")),
        "GET /api/v1/accounts/quoted": api.get("/api/v1/accounts/quoted").text,
        "GET /api/v1/runs": api.get("/api/v1/runs").text,
        "`channelport runs --json`": runs_cli.stdout,
    }


def test_a_token_the_channel_quotes_back_is_not_stored_or_shown(rt, api, quoting_channel):
    for where, text in surfaces_after_a_refusal(rt, api, quoting_channel).items():
        assert find(text, {"token": TOKEN_TWO}) == [], f"{where} shows the token: {text[:300]}"


def test_the_refusal_itself_is_kept_and_shown(rt, api, quoting_channel):
    """The masking above keeps what the merchant needs: the channel's words, less the token."""
    shown = surfaces_after_a_refusal(rt, api, quoting_channel)
    for where, text in shown.items():
        assert "HTTP 401" in text and "UNAUTHORIZED" in text, where
    assert api.get("/api/v1/accounts/quoted").json()["status"] == "credentials rejected"
