"""An entry's log text: the fast serialiser must give the text the standard library gives."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from channelport.connectors.content import compact_json, entry_text, replay_text

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
