"""Stored events and orders come back exactly as they were stored, through real JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given

from channelport.domain.codec import decode, decode_order, encode, encode_order

from .builders import accepted, at, new_order
from .strategies import events, order_states


def _exactly_equal(a, b) -> bool:
    """== plus what == forgives: a decimal's exponent and an instant's offset."""
    return a == b and repr(a) == repr(b)


@given(events)
def test_event_round_trips_through_json(event):
    stored = json.loads(json.dumps(encode(event)))
    back = decode(stored)
    assert _exactly_equal(back, event)
    assert type(back) is type(event)


@given(order_states)
def test_order_round_trips_through_json(order):
    back = decode_order(json.loads(json.dumps(encode_order(order))))
    assert _exactly_equal(back, order)


def test_decimals_are_strings_that_keep_their_exponent():
    data = encode(new_order())
    assert data["order"]["orderItem"][1]["grossPrice"] == "4.90"
    event = accepted(when=at(1), lines={"1": "1E+1"})
    assert decode(encode(event)).lines[0].quantity.as_tuple() == Decimal("1E+1").as_tuple()


def test_encode_names_the_type_and_instants_keep_microseconds():
    data = encode(new_order(when=at(0.000001)))
    assert data["type"] == "order"
    assert data["createdAt"] == "2026-11-20T08:15:02.120001+00:00"


def test_unknown_stored_type_is_refused():
    data = encode(new_order())
    data["type"] = "Channel:Order.Refund"
    with pytest.raises(ValueError, match="unknown stored event type"):
        decode(data)
