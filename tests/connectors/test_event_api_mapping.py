"""Mapping wire entries into domain events: every type, and everything that can be wrong."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from channelport.connectors.base import Settled
from channelport.connectors.content import entry_text
from channelport.connectors.event_api_mapping import (
    SYNTHETIC_ID_PREFIX,
    decode_ack_answer,
    decode_imports_answer,
    decode_page,
    error_messages,
    map_item,
    map_page,
    synthetic_id,
)
from channelport.domain.events import (
    Address,
    AddressUpdate,
    Buyer,
    CancellationAccepted,
    CancellationDenied,
    CancelledLine,
    ItemStatusChange,
    NewOrder,
    OrderLine,
    StatusUpdate,
)

from .event_api_support import (
    ACCEPTED,
    ADDRESS,
    DENIED,
    EXAMPLE_ORDER,
    NEW,
    PAYLOADS,
    STATUS,
    STATUS_PAYLOAD,
    entry,
)

UTC = timezone.utc
AT = datetime(2026, 11, 20, 8, 15, 2, 120000, tzinfo=UTC)


def mapped(item: Any) -> Any:
    received, _ackable = map_item(item)
    return received


def test_the_protocol_pages_example_order_maps_field_by_field() -> None:
    received, ackable = map_item(entry(NEW, id="ev-42"))
    assert ackable and received.problem is None and not received.unknown
    event = received.event
    assert isinstance(event, NewOrder)
    assert (event.event_id, event.created_at, event.seller_id, event.order_id) == ("ev-42", AT, "S-1001", "KL-2026-000123")
    order = event.order
    assert order.order_status == "CREATED"
    assert order.purchased_at == AT and order.last_changed_at == AT
    assert order.purchased_at.tzinfo is UTC
    assert order.currency == "EUR" and order.payment_method == "paypal"
    assert order.buyer == Buyer(email="anna@example.org", vat_id=None)
    assert order.billing_address == Address("Anna", "Schmidt", "Hauptstr.", "5", "10115", "Berlin", "DE", None, None)
    assert order.shipping_address == Address("Anna", "Schmidt", "Hauptstr.", "5", "10115", "Berlin", "DE")
    assert order.lines == (
        OrderLine("1", "ITEM", Decimal("2"), Decimal("19.99"), Decimal("39.98"), Decimal("19"), "UNSHIPPED", "PAID",
                  sku="TSHIRT-RED-M", title="T-Shirt rot M"),
        OrderLine("2", "SHIPPING", Decimal("1"), Decimal("4.90"), Decimal("4.90"), Decimal("19"), "UNSHIPPED", "PAID"),
    )
    assert str(order.lines[1].gross_price) == "4.90"  # the spelling survives
    assert received.raw["event"] == EXAMPLE_ORDER and received.wire_type == NEW


def test_status_update() -> None:
    event = mapped(entry(STATUS)).event
    assert event == StatusUpdate(
        event_id="ev-1", created_at=AT, seller_id="S-1001", order_id="KL-2026-000123",
        order_status="PARTIALLY_SHIPPED",
        items=(ItemStatusChange("1", item_status="SHIPPED"), ItemStatusChange("2", payment_status="PAID")),
    )


@pytest.mark.parametrize("items", [{}, {"orderItems": None}, {"orderItems": []}], ids=["absent", "null", "empty"])
def test_status_update_without_items(items: dict[str, Any]) -> None:
    payload = {"sellerId": "S-1001", "orderId": "A", "orderStatus": "SHIPPED", **items}
    event = mapped(entry(STATUS, payload)).event
    assert isinstance(event, StatusUpdate) and event.items == ()


def test_address_update_carries_only_the_parts_present() -> None:
    event = mapped(entry(ADDRESS)).event
    assert event == AddressUpdate(
        event_id="ev-1", created_at=AT, seller_id="S-1001", order_id="KL-2026-000123",
        shipping_address=Address(last_name="Meier", street="Packstation", house_number="123", city="Hamburg",
                                 postcode="20095", country="DE"),
    )
    assert event.billing_address is None and event.buyer is None


def test_address_update_with_every_part_and_with_none() -> None:
    payload = {"sellerId": "S-1001", "orderId": "A", "billingAddress": EXAMPLE_ORDER["billingAddress"],
               "shippingAddress": None, "buyer": {"email": None, "vatId": "DE123456789"}}
    event = mapped(entry(ADDRESS, payload)).event
    assert isinstance(event, AddressUpdate)
    assert event.billing_address is not None and event.billing_address.city == "Berlin"
    assert event.shipping_address is None and event.buyer == Buyer(None, "DE123456789")
    bare = mapped(entry(ADDRESS, {"sellerId": "S-1001", "orderId": "A"})).event
    assert bare == AddressUpdate("ev-1", AT, "S-1001", "A")


def test_cancellation_accepted_names_items_or_the_whole_order() -> None:
    event = mapped(entry(ACCEPTED)).event
    assert event == CancellationAccepted(
        event_id="ev-1", created_at=AT, seller_id="S-1001", order_id="KL-2026-000123",
        request_id="6f1c2b9e-2c1a-4a55-9a39-3f1f5f0b9a11", cancel_reason="OUT_OF_STOCK",
        lines=(CancelledLine("1", Decimal("1")),),
    )
    whole = copy.deepcopy(PAYLOADS[ACCEPTED])
    del whole["orderItem"]
    assert mapped(entry(ACCEPTED, whole)).event.lines is None
    whole["orderItem"] = None
    assert mapped(entry(ACCEPTED, whole)).event.lines is None


def test_cancellation_denied() -> None:
    event = mapped(entry(DENIED)).event
    assert event == CancellationDenied(
        event_id="ev-1", created_at=AT, seller_id="S-1001", order_id="KL-2026-000123",
        request_id="0d0e3a52-8d7e-4f0e-b0f4-7c0f8e0a3b22", reason="Die Ware ist bereits versandt.",
    )


def test_instants_with_an_offset_become_utc() -> None:
    payload = dict(EXAMPLE_ORDER, purchasedAt="2026-11-20T09:15:02.120+01:00")
    received = mapped(entry(NEW, payload, created_at="2026-11-20T10:15:02.120123456+02:00"))
    assert received.created_at == datetime(2026, 11, 20, 8, 15, 2, 120123, tzinfo=UTC)
    assert received.created_at.tzinfo is UTC
    assert received.event.order.purchased_at == AT and received.event.order.purchased_at.tzinfo is UTC


def test_unknown_fields_are_ignored() -> None:
    payload = dict(EXAMPLE_ORDER, loyaltyPoints=12, buyer={"email": "a@b.c", "vatId": None, "newsletter": True})
    item = entry(NEW, payload)
    item["traceId"] = "x"
    assert isinstance(mapped(item).event, NewOrder)


def _without(payload: dict[str, Any], *path: Any) -> dict[str, Any]:
    data = copy.deepcopy(payload)
    target = data
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return data


def _with(payload: dict[str, Any], value: Any, *path: Any) -> dict[str, Any]:
    data = copy.deepcopy(payload)
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


BAD_PAYLOADS = [
    # (id, wire type, payload, text the problem must contain)
    ("price as number", NEW, _with(EXAMPLE_ORDER, 19.99, "orderItem", 0, "grossPrice"), "orderItem[0].grossPrice"),
    ("quantity as int", NEW, _with(EXAMPLE_ORDER, 2, "orderItem", 0, "quantity"), "got a number"),
    ("quantity negative", NEW, _with(EXAMPLE_ORDER, "-1", "orderItem", 0, "quantity"), "orderItem[0].quantity"),
    ("decimal with exponent", NEW, _with(EXAMPLE_ORDER, "1E+2", "orderItem", 0, "total"), "total"),
    ("decimal NaN", NEW, _with(EXAMPLE_ORDER, "NaN", "orderItem", 0, "total"), "total"),
    ("decimal empty", NEW, _with(EXAMPLE_ORDER, "", "orderItem", 0, "taxPercent"), "taxPercent"),
    ("missing sellerId", NEW, _without(EXAMPLE_ORDER, "sellerId"), "event.sellerId: required"),
    ("missing orderId", NEW, _without(EXAMPLE_ORDER, "orderId"), "event.orderId: required"),
    ("empty orderId", NEW, _with(EXAMPLE_ORDER, "", "orderId"), "orderId"),
    ("orderId 151 chars", NEW, _with(EXAMPLE_ORDER, "x" * 151, "orderId"), "orderId"),
    ("orderId number", NEW, _with(EXAMPLE_ORDER, 123, "orderId"), "expected a string, got a number"),
    ("missing orderStatus", NEW, _without(EXAMPLE_ORDER, "orderStatus"), "orderStatus"),
    ("unknown orderStatus", NEW, _with(EXAMPLE_ORDER, "LOST", "orderStatus"), "'LOST'"),
    ("missing purchasedAt", NEW, _without(EXAMPLE_ORDER, "purchasedAt"), "purchasedAt"),
    ("naive purchasedAt", NEW, _with(EXAMPLE_ORDER, "2026-11-20T08:15:02", "purchasedAt"), "purchasedAt"),
    ("date-only lastChangedAt", NEW, _with(EXAMPLE_ORDER, "2026-11-20", "lastChangedAt"), "lastChangedAt"),
    ("epoch lastChangedAt", NEW, _with(EXAMPLE_ORDER, 1700000000, "lastChangedAt"), "lastChangedAt"),
    ("impossible date", NEW, _with(EXAMPLE_ORDER, "2026-02-30T00:00:00Z", "purchasedAt"), "purchasedAt"),
    ("currency lowercase", NEW, _with(EXAMPLE_ORDER, "eur", "currency"), "ISO 4217"),
    ("currency too long", NEW, _with(EXAMPLE_ORDER, "EURO", "currency"), "currency"),
    ("missing currency", NEW, _without(EXAMPLE_ORDER, "currency"), "currency"),
    ("no items", NEW, _with(EXAMPLE_ORDER, [], "orderItem"), "orderItem: must not be empty"),
    ("missing items", NEW, _without(EXAMPLE_ORDER, "orderItem"), "orderItem"),
    ("items not array", NEW, _with(EXAMPLE_ORDER, {"orderItemId": "1"}, "orderItem"), "orderItem"),
    ("duplicate item ids", NEW, _with(EXAMPLE_ORDER, "1", "orderItem", 1, "orderItemId"), "distinct"),
    ("unknown item type", NEW, _with(EXAMPLE_ORDER, "GIFT", "orderItem", 0, "type"), "type"),
    ("unknown itemStatus", NEW, _with(EXAMPLE_ORDER, "LOST", "orderItem", 0, "itemStatus"), "itemStatus"),
    ("unknown payment", NEW, _with(EXAMPLE_ORDER, "MAYBE", "orderItem", 0, "itemPaymentStatus"), "itemPaymentStatus"),
    ("missing item total", NEW, _without(EXAMPLE_ORDER, "orderItem", 1, "total"), "orderItem[1].total: required"),
    ("country alpha-3", NEW, _with(EXAMPLE_ORDER, "DEU", "billingAddress", "country"), "ISO 3166-1"),
    ("address without lastName", NEW, _without(EXAMPLE_ORDER, "shippingAddress", "lastName"), "lastName"),
    ("address without street", NEW, _without(EXAMPLE_ORDER, "billingAddress", "street"), "street"),
    ("address not object", NEW, _with(EXAMPLE_ORDER, "Berlin", "billingAddress"), "expected an object"),
    ("sku number", NEW, _with(EXAMPLE_ORDER, 4711, "orderItem", 0, "sku"), "sku"),
    ("buyer email number", NEW, _with(EXAMPLE_ORDER, 1, "buyer", "email"), "email"),
    ("status missing orderStatus", STATUS, _without(PAYLOADS[STATUS], "orderStatus"), "orderStatus"),
    ("status unknown itemStatus", STATUS, _with(PAYLOADS[STATUS], "GONE", "orderItems", 0, "itemStatus"), "itemStatus"),
    ("status item without id", STATUS, _without(PAYLOADS[STATUS], "orderItems", 0, "orderItemId"), "orderItemId"),
    ("address update bad country", ADDRESS, _with(PAYLOADS[ADDRESS], "de", "shippingAddress", "country"), "country"),
    ("accepted missing request id", ACCEPTED, _without(PAYLOADS[ACCEPTED], "orderCancellationRequestId"), "orderCancellationRequestId"),
    ("accepted unknown reason", ACCEPTED, _with(PAYLOADS[ACCEPTED], "BORED", "cancelReason"), "cancelReason"),
    ("accepted missing reason", ACCEPTED, _without(PAYLOADS[ACCEPTED], "cancelReason"), "cancelReason"),
    ("accepted negative qty", ACCEPTED, _with(PAYLOADS[ACCEPTED], "-1", "orderItem", 0, "quantity"), "quantity"),
    ("accepted float qty", ACCEPTED, _with(PAYLOADS[ACCEPTED], 1.0, "orderItem", 0, "quantity"), "quantity"),
    ("accepted empty items", ACCEPTED, _with(PAYLOADS[ACCEPTED], [], "orderItem"), "orderItem"),
    ("denied reason 251", DENIED, _with(PAYLOADS[DENIED], "x" * 251, "reason"), "reason"),
    ("denied missing reason", DENIED, _without(PAYLOADS[DENIED], "reason"), "reason"),
    ("payload null", NEW, None, "event: expected an object, got null"),
    ("payload array", DENIED, [], "expected an object"),
    ("payload string", STATUS, "hello", "expected an object"),
]


@pytest.mark.parametrize(("wire_type", "payload", "expected"), [case[1:] for case in BAD_PAYLOADS],
                         ids=[case[0] for case in BAD_PAYLOADS])
def test_a_payload_that_breaks_the_protocol_is_kept_with_its_problem(wire_type: str, payload: Any, expected: str) -> None:
    item = entry(wire_type, payload) if payload is not None else dict(entry(wire_type), event=None)
    received, ackable = map_item(item)
    assert received.event is None and not received.unknown
    assert received.problem and expected in received.problem, received.problem
    assert len(received.problem) < 600  # concise
    assert received.raw is item and received.event_id == "ev-1" and ackable
    assert received.created_at == AT


def test_a_reason_of_exactly_250_characters_is_fine() -> None:
    payload = dict(PAYLOADS[DENIED], reason="x" * 250)
    assert mapped(entry(DENIED, payload)).event.reason == "x" * 250


def test_order_id_of_150_characters_is_fine() -> None:
    assert mapped(entry(NEW, dict(EXAMPLE_ORDER, orderId="x" * 150))).event.order_id == "x" * 150


@pytest.mark.parametrize("created_at", [None, 1700000000, "2026-11-20T08:15:02", "2026-11-20 08:15:02", "yesterday"])
def test_a_bad_created_at_is_a_problem(created_at: Any) -> None:
    item = entry(STATUS, created_at=created_at)
    if created_at is None:
        del item["createdAt"]
    received = mapped(item)
    assert received.event is None and received.created_at is None
    assert received.problem.startswith("createdAt")


def test_an_unknown_type_is_kept_and_acknowledged() -> None:
    item = {"id": "ev-9", "type": "Channel:Order.RefundIssued", "createdAt": "2026-11-20T08:15:02.120Z",
            "event": {"anything": [1, 2]}}
    received, ackable = map_item(item)
    assert received.unknown and received.event is None and ackable
    assert received.problem == "unknown event type 'Channel:Order.RefundIssued'"
    assert received.wire_type == "Channel:Order.RefundIssued" and received.created_at == AT and received.raw is item


@pytest.mark.parametrize("wire_type", [None, 7, ""])
def test_a_missing_type_is_a_problem_not_unknown(wire_type: Any) -> None:
    received = mapped(dict(entry(), type=wire_type))
    assert received.event is None and not received.unknown and received.wire_type == ""
    assert received.problem.startswith("type:")


@pytest.mark.parametrize("bad_id", [None, "", 17, ["x"]], ids=["null", "empty", "number", "array"])
def test_an_entry_without_a_usable_id_gets_a_stable_synthetic_one_and_is_not_acked(bad_id: Any) -> None:
    item = entry(STATUS, id=bad_id)
    first, ackable = map_item(item)
    again, _ = map_item(copy.deepcopy(item))
    assert not ackable
    assert first.event_id.startswith(SYNTHETIC_ID_PREFIX) and first.event_id == again.event_id
    assert isinstance(first.event, StatusUpdate) and first.event.event_id == first.event_id
    other, _ = map_item(dict(item, createdAt="2026-11-20T08:15:03.000Z"))
    assert other.event_id != first.event_id


def test_entry_without_id_key_and_with_bad_payload_says_both() -> None:
    item = entry(STATUS, {"orderId": "A"})
    del item["id"]
    received, ackable = map_item(item)
    assert not ackable and received.event is None
    assert "sellerId" in received.problem and "id: no usable id" in received.problem


@pytest.mark.parametrize("item", ["just text", 42, None, [1, 2], True])
def test_an_entry_that_is_not_an_object_is_kept(item: Any) -> None:
    received, ackable = map_item(item)
    assert not ackable and received.event is None and received.raw == item
    assert received.event_id == synthetic_id(item) and "not a JSON object" in received.problem


def test_a_page_keeps_repeats_and_acks_each_real_id_once() -> None:
    items = [entry(NEW, id="a"), entry(NEW, id="a"), entry(STATUS, id="b"), entry(STATUS, id=None),
             entry("Channel:Future", {}, id="c"), entry(DENIED, {"bad": True}, id="d")]
    received, ack_ids = map_page(items)
    assert [r.event_id for r in received][:3] == ["a", "a", "b"]
    assert len(received) == 6
    assert ack_ids == ("a", "b", "c", "d")


def test_decode_page_refuses_what_is_not_a_page() -> None:
    assert decode_page(b'{"eventList": []}') == []
    assert decode_page(b'{"eventList": [1], "next": null}') == [1]
    for body in [b"", b'{"eventList": [', b"[]", b'{"events": []}', b'{"eventList": null}', b"<html>502</html>"]:
        with pytest.raises(ValueError):
            decode_page(body)


def test_decode_page_survives_sloppy_json() -> None:
    # a lone surrogate escape and a stray non-UTF-8 byte do not lose the page; neither
    # reaches the log, which no text with either could be written to
    items = decode_page(b'{"eventList": [{"id": "a\\ud800"}, {"id": "b\xff"}, {"e": "\\ud83d\\ude00"}]}')
    assert items[0]["id"] == "a\ufffd" and items[1]["id"] == "b\ufffd" and items[2]["e"] == "\U0001f600"


def test_answers_and_error_bodies() -> None:
    answer = decode_imports_answer(b'{"eventImports": [{"type": "Channel:Order.New", "isImportEnabled": true, "createdAfter": null}]}')
    assert answer.event_imports[0].is_import_enabled is True
    with pytest.raises(ValueError):
        decode_imports_answer(b'{"eventImports": [{"type": "Channel:Order.New"}]}')
    assert decode_ack_answer(b'{"acknowledged": 3}') == 3
    with pytest.raises(ValueError):
        decode_ack_answer(b'{"acknowledged": "3"}')
    assert error_messages(b'{"errorList": [{"code": "INVALID_LIMIT", "message": "limit must be 1..1000"}]}') == (
        "INVALID_LIMIT: limit must be 1..1000"
    )
    assert error_messages(b"<html>Bad Gateway</html>") is None
    assert error_messages(b'{"errorList": "nope"}') is None
    assert error_messages(b"") is None


def test_a_screened_page_maps_only_what_the_log_does_not_hold_settled() -> None:
    known, fresh, same_as_known = entry(STATUS, id="q-1"), entry(NEW, id="q-2"), entry(STATUS, id="q-9")
    bad_instant = entry(STATUS, id="q-3", created_at="yesterday")
    with_nul = entry(STATUS, {**STATUS_PAYLOAD, "orderId": "A\x00"}, id="q-4")
    items = [known, fresh, bad_instant, with_nul, "not an object", same_as_known]
    unscreened, _ = map_page(items, check_nul=True)
    known_digest = unscreened[0].digest
    asked: list[list[str]] = []

    def screen(digests):  # type: ignore[no-untyped-def]
        asked.append(list(digests))
        return {known_digest: Settled("ev-earlier", "status", "KL-2026-000123")}

    received, ack_ids = map_page(items, check_nul=True, screen=screen)
    # one question per page, only about entries with an id, a known type and a valid instant
    assert asked == [[known_digest, unscreened[1].digest, known_digest]]
    for replay in (received[0], received[5]):
        assert replay.event is None and replay.problem is None
        assert replay.settled == Settled("ev-earlier", "status", "KL-2026-000123")
        assert replay.digest == known_digest and replay.text == entry_text(replay.raw)
    assert received[5].event_id == "q-9"  # its own id: recorded and acknowledged as itself
    assert isinstance(received[1].event, NewOrder) and received[1].settled is None
    assert received[1].text == entry_text(fresh) and received[1].digest == unscreened[1].digest
    assert received[2].problem and received[2].digest is None  # still says what is wrong
    assert "NUL" in received[3].problem and received[3].digest is None
    assert "not a JSON object" in received[4].problem
    assert ack_ids == ("q-1", "q-2", "q-3", "q-4", "q-9")


def test_the_digest_of_an_entry_is_its_content_without_the_queue_id() -> None:
    one, again = entry(STATUS, id="q-1"), entry(STATUS, id="q-2")
    other = entry(STATUS, {**STATUS_PAYLOAD, "orderStatus": "SHIPPED"}, id="q-1")
    a, b, c = (map_page([item])[0][0] for item in (one, again, other))
    assert a.digest == b.digest != c.digest
    assert a.digest.startswith("20261120081502120000")  # led by createdAt in UTC
    id_last = {key: value for key, value in one.items() if key != "id"} | {"id": "q-3"}
    assert map_page([id_last])[0][0].digest == a.digest  # the id anywhere in the entry
