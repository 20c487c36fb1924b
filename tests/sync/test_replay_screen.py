"""The screen a queue connector runs before mapping a page only ever saves work."""

from __future__ import annotations

from channelport.services.replays import screen_for
from channelport.store.db import make_engine


def test_a_failed_lookup_finds_nothing_and_the_page_is_mapped_as_before():
    unreachable = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    try:
        assert screen_for(unreachable, 1)(["2026110210000000000000"]) == {}
    finally:
        unreachable.dispose()


def test_a_database_only_one_connection_can_see_gets_no_screen():
    assert screen_for(make_engine("sqlite://"), 1) is None
