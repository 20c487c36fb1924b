"""An entry's log text: the fast serialiser must give the text the standard library gives."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from channelport.connectors import event_api_mapping
from channelport.connectors.content import (
    compact_json,
    content_digest,
    entry_text,
    instant_key,
    may_hold_lone_surrogate,
    replay_text,
    without_lone_surrogates,
)
from channelport.connectors.polling import loads

# What the protocol sends: no floats (money and quantities are decimal strings).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_the_text_is_the_standard_librarys_compact_json(value: object) -> None:
    assert entry_text(value) == compact_json(value)
    assert json.loads(entry_text(value)) == value


def test_what_the_fast_serialiser_refuses_still_gets_a_text() -> None:
    value = {"id": "a\ud800", "n": [1, None]}  # a lone surrogate escape, as a sloppy channel may send
    assert entry_text(value) == compact_json(value) == '{"id":"a\ud800","n":[1,null]}'


def test_floats_keep_their_value() -> None:
    for value in (1.5, 1e16, -0.0, 1e-07, float("inf")):
        assert json.loads(entry_text([value])) == [value]


@given(st.dictionaries(st.text(), JSON, max_size=5), st.integers(min_value=0, max_value=5), st.text(), st.text())
def test_a_replays_text_is_its_originals_under_its_own_id(fields: dict, at: int, original_id: str, replay_id: str) -> None:
    """What the log shows for a replay (which keeps no text) is the text it would have kept."""
    keys = [key for key in fields if key != "id"]
    keys.insert(min(at, len(keys)), "id")  # the id wherever the channel puts it
    original = {key: original_id if key == "id" else fields[key] for key in keys}
    replay = {**original, "id": replay_id}
    assert replay_text(entry_text(original), replay_id) == entry_text(replay)


def test_a_text_that_is_no_entry_is_shown_as_it_is() -> None:
    assert replay_text("not json", "ev-2") == "not json"
    assert replay_text("[1,2]", "ev-2") == "[1,2]"


WIRE_DIGITS = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")


@given(
    st.integers(min_value=0, max_value=9999), WIRE_DIGITS, WIRE_DIGITS, WIRE_DIGITS, WIRE_DIGITS, WIRE_DIGITS,
    st.integers(min_value=0, max_value=999),
)
def test_the_wire_form_of_an_instant_reads_as_the_validator_reads_it(
    year: int, month: str, day: str, hour: str, minute: str, second: str, millis: int
) -> None:
    """The fast reading of `createdAt` accepts and refuses what the validator does, to the same instant and key."""
    text = f"{year:04d}-{month}-{day}T{hour}:{minute}:{second}.{millis:03d}Z"
    fast, key = event_api_mapping._created_at(text)
    try:
        expected = event_api_mapping._INSTANT_VALIDATOR.validate_python(text)
    except ValidationError:
        expected = None
    assert fast == expected
    if fast is not None:
        assert fast.tzinfo is expected.tzinfo
        assert key is None or key == instant_key(expected)


def test_the_wire_form_gives_its_key_without_formatting() -> None:
    at, key = event_api_mapping._created_at("2026-10-23T05:34:31.899Z")
    assert (at, key) == (datetime(2026, 10, 23, 5, 34, 31, 899000, tzinfo=timezone.utc), "20261023053431899000")
    assert at.tzinfo is timezone.utc
    assert event_api_mapping._created_at("2026-10-23T07:34:31.899+02:00") == (at, None)  # the validator's
    assert event_api_mapping._created_at("2026-02-30T05:34:31.899Z") == (None, None)


@given(st.dictionaries(st.text(), JSON, max_size=4), st.text(min_size=1), st.datetimes(timezones=st.timezones()))
def test_a_digest_is_the_same_with_or_without_the_instant_handed_over(fields: dict, event_id: str, at: datetime) -> None:
    entry = {"id": event_id, **{k: v for k, v in fields.items() if k != "id"}}
    text = entry_text(entry)
    digest = content_digest(entry, text, at)
    assert digest == content_digest(entry, text, at, instant_key(at))
    without_id = entry_text({k: v for k, v in entry.items() if k != "id"})
    assert digest == instant_key(at) + hashlib.blake2b(without_id.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@given(st.recursive(st.none() | st.integers() | st.text(),  # st.text() draws lone surrogates too
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)))
def test_a_decoded_body_holds_no_lone_surrogate_and_nothing_else_changes(value: object) -> None:
    body = json.dumps({"eventList": [value]}).encode("ascii")  # escapes every non-ASCII character
    decoded = loads(body)["eventList"][0]
    assert entry_text(decoded).encode("utf-8")  # storable: a lone surrogate would raise here
    assert decoded == without_lone_surrogates(value)
    if entry_text(value).isascii() or not may_hold_lone_surrogate(body):
        assert decoded == value
    assert event_api_mapping.decode_page(body) == [decoded]
