"""Hostile event payloads, end to end: through the real simulator server into a real sync.

tests/connectors/test_event_api_fuzz.py fuzzes the mapping alone. Here hypothesis builds
events a broken or malicious channel could send (wrong types, missing fields, huge
strings, odd Unicode, negative and absurd quantities, invalid currencies and countries,
timestamps far in the past or future, payloads that are not objects at all) and the
simulator delivers them over HTTP in the same queue as the channel's real trading,
ahead of it. For every example one sync must:

- not crash (the sync succeeds: one bad event is the event's problem, not the sync's);
- lose nothing: every hostile event has its received-events row, with its raw payload,
  and, where rejected, the reason;
- block nothing: the good events behind it are applied, so the export equals the truth
  (orders a hostile event created under its own FUZZ- id aside).

At the end the rejected events are listed by the real CLI (`channelport events
--outcome rejected --json`) and on the web's events page.
"""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from channelport.services import users
from channelport.services.orders import export_orders
from channelport.services.verify import compare
from channelport.store.db import read_only
from channelport.store.tables import received_events
from channelport.web import create_app
from channelport.web.ratelimit import LoginThrottle
from tests.connectors.event_api_support import PAYLOADS
from tests.faults.support import channelport_cmd, sync_all
from tests.web.conftest import PASSWORD, USER, log_in

SELLER, ACCOUNT = "S-1001", "shop-one"
RECORDED = {"applied", "parked", "rejected", "unknown", "stale", "duplicate", "ignored"}

# No lone surrogates (not JSON-encodable as UTF-8) and no NUL: U+0000 has its own test below.
odd_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)
hostile_values = st.one_of(
    st.sampled_from([
        None, True, 0, -1, 1.5, 1e308, [], {}, [{}], "",
        "-5", "-0.01", "0", "99999999999999999999999999999", "1e400", "NaN", "Infinity", "2,5", "0x10",  # quantities
        "EURO", "eur", "€", "XXX1", "ZZ", "DEU", "D", "🇩🇪",                                            # currencies, countries
        "0001-01-01T00:00:00Z", "1900-02-29T00:00:00Z", "9999-12-31T23:59:59.999Z", "2026-02-30T00:00:00Z",
        "2026-11-20T08:15:02", "2026-11-20 08:15:02Z", "yesterday", "1970-01-01T00:00:00+25:00",       # instants
        "x" * 100_000, "\u202e\ufeff\u200b", "' OR 1=1 --", "<script>alert(1)</script>", "%s%s%n",       # strings
    ]),
    odd_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _places(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _places(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _places(inner, (*prefix, index))
    return found


@st.composite
def hostile_events(draw: st.DrawFn) -> tuple[str, Any, datetime | None]:
    """(wire type, payload, createdAt or None for now), never touching a true order."""
    wire_type = draw(st.sampled_from(list(PAYLOADS)))
    payload: Any = copy.deepcopy(PAYLOADS[wire_type])
    payload["orderId"] = "FUZZ-" + draw(st.sampled_from(["1", "2", "3"]) | odd_text)
    for _ in range(draw(st.integers(1, 4))):
        places = _places(payload)
        place = draw(st.sampled_from(places))
        parent = payload
        for key in place[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[place[-1]]  # a missing field
        else:
            parent[place[-1]] = draw(hostile_values)
    if draw(st.integers(0, 9)) == 0:
        payload = draw(hostile_values)  # not an object at all
    if draw(st.integers(0, 9)) == 0:
        wire_type = draw(st.sampled_from(["Channel:Order.Refund", "", "channel:order.new", "Channel:Order.Néw"]))
    if isinstance(payload, dict) and isinstance(payload.get("orderId"), str) and \
            not payload["orderId"].startswith("FUZZ-"):
        payload["orderId"] = "FUZZ-" + payload["orderId"]  # a mutated but still valid id stays ours
    created = draw(st.sampled_from([None, None, datetime(1970, 1, 2, tzinfo=timezone.utc),
                                    datetime(2999, 12, 31, tzinfo=timezone.utc)]))
    return wire_type, payload, created


def caught_up(rt, market) -> None:  # type: ignore[no-untyped-def]
    """Twelve hours of trading, synced: the accounts are subscribed and the queue is empty."""
    market.advance(timedelta(hours=12))
    assert {r.status for r in sync_all(rt).values()} == {"succeeded"}


def deliver_and_sync(rt, market, events: list[tuple[str, Any, datetime | None]]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Inject the events ahead of two hours of trading, sync once; the received-events rows
    of the injected events by id (checked: one each, with raw payload and, if rejected,
    a reason), after checking that the sync succeeded and the good events were applied."""
    ids = [market.inject_event(SELLER, wire_type, payload, created_at=created) for wire_type, payload, created in events]
    market.advance(timedelta(hours=2))  # good events, created after the hostile ones
    reports = sync_all(rt)
    assert reports[ACCOUNT].status == "succeeded", reports[ACCOUNT]
    with read_only(rt.engine) as conn:
        rows = {r.event_id: r for r in conn.execute(select(received_events).where(received_events.c.event_id.in_(ids)))}
    for event_id in ids:
        row = rows.get(event_id)
        assert row is not None, f"hostile event {event_id} was lost"
        assert row.outcome in RECORDED and row.raw
        if row.outcome == "rejected":
            assert row.reason, f"{event_id} rejected without a reason"
    result = compare(real_orders(rt), market.truth(SELLER, account=ACCOUNT))
    assert result.exact, result.describe()
    return rows


def real_orders(rt) -> list[dict]:  # type: ignore[no-untyped-def]
    return [o for o in export_orders(rt, accounts=[ACCOUNT]) if not str(o["orderId"]).startswith("FUZZ-")]


@pytest.mark.usefixtures("connected")
def test_hostile_payloads_never_crash_lose_or_block(rt, market, tmp_path):
    caught_up(rt, market)
    injected: dict[str, Any] = {}

    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(st.lists(hostile_events(), min_size=1, max_size=4))
    @example([("Channel:Order.StatusUpdate", {**PAYLOADS["Channel:Order.StatusUpdate"], "orderId": "FUZZ-" + "x" * 100_000}, None)])
    @example([("Channel:Order.New", {**PAYLOADS["Channel:Order.New"], "orderId": "FUZZ-neg",
                                     "orderItem": [{**PAYLOADS["Channel:Order.New"]["orderItem"][0], "quantity": "-5"}]},
               None)])
    @example([("Channel:Order.New", {**PAYLOADS["Channel:Order.New"], "orderId": "FUZZ-cur", "currency": "EURO"}, None),
              ("Channel:Order.New", {**PAYLOADS["Channel:Order.New"], "orderId": "FUZZ-old",
                                     "purchasedAt": "0001-01-01T00:00:00Z"}, datetime(1970, 1, 2, tzinfo=timezone.utc)),
              ("Channel:Order.AddressUpdate", ["not", "an", "object"], datetime(2999, 1, 1, tzinfo=timezone.utc))])
    def one_round(events: list[tuple[str, Any, datetime | None]]) -> None:
        for event_id, row in deliver_and_sync(rt, market, events).items():
            injected[event_id] = row.outcome

    one_round()
    rejected = {event_id for event_id, outcome in injected.items() if outcome == "rejected"}
    assert rejected, f"no hostile event was rejected: {injected}"

    listed = subprocess.run([*channelport_cmd("events", "--outcome", "rejected", "--json", "--limit", "10000")],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    shown = {e["eventId"]: e for e in json.loads(listed.stdout)}
    assert rejected <= shown.keys()
    assert all(shown[i]["reason"] and shown[i]["raw"] for i in rejected)

    users.add_user(rt, name=USER, password=PASSWORD)
    with TestClient(create_app(rt, sync_concurrency=1, throttle=LoginThrottle()), base_url="http://testserver") as web:
        page = log_in(web).get("/events", params={"outcome": "rejected", "account": ACCOUNT})
    assert page.status_code == 200
    missing = [i for i in rejected if f"<code>{i}</code>" not in page.text]
    assert not missing, f"rejected events not on the web's events page: {missing[:5]}"


@pytest.mark.usefixtures("connected")
def test_nul_characters_are_rejected_and_never_block_the_queue(rt, market):
    """U+0000 in the type, the order id, a name: kept (rejected or applied), never a stuck queue."""
    caught_up(rt, market)
    order = PAYLOADS["Channel:Order.New"]
    rows = deliver_and_sync(rt, market, [
        ("Channel:Order.New\u0000", {**order, "orderId": "FUZZ-nul-type"}, None),
        ("Channel:Order.New", {**order, "orderId": "FUZZ-\u0000"}, None),
        ("Channel:Order.New", {**order, "orderId": "FUZZ-nul-name",
                               "buyer": {"email": "a\u0000@example.org", "vatId": None}}, None),
    ])
    assert len(rows) == 3


@pytest.mark.usefixtures("connected")
def test_lone_surrogate_escapes_are_kept_as_replacement_characters_and_never_block(rt, market):
    """`"\\ud800"` is valid JSON but no UTF-8 text can hold what it decodes to: before, such an
    entry's log row could not be written, and every sync of the account failed on it."""
    caught_up(rt, market)
    order = PAYLOADS["Channel:Order.New"]
    rows = deliver_and_sync(rt, market, [
        ("Channel:Order.New", {**order, "orderId": "FUZZ-lone-\ud800"}, None),
        ("Channel:Order.New\udfff", {**order, "orderId": "FUZZ-lone-type"}, None),
        ("Channel:Order.New", {**order, "orderId": "FUZZ-lone-mail",
                               "buyer": {"email": "a\udc80@example.org", "vatId": None}}, None),
    ])
    assert len(rows) == 3
    for row in rows.values():
        assert "\ufffd" in row.raw and json.loads(row.raw)["id"] == row.event_id
    outcomes = {json.loads(row.raw)["event"]["orderId"]: row.outcome for row in rows.values()}
    assert outcomes == {"FUZZ-lone-\ufffd": "applied", "FUZZ-lone-type": "unknown", "FUZZ-lone-mail": "applied"}
    mails = {o["orderId"]: o["buyer"]["email"] for o in export_orders(rt, accounts=[ACCOUNT])}
    assert mails["FUZZ-lone-mail"] == "a\ufffd@example.org"
