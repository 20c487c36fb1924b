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


def test_after_a_page_without_replays_only_every_eighth_page_is_asked_about(monkeypatch, tmp_path):
    from channelport.connectors.base import Settled
    from channelport.services import replays

    answers = iter([{}, {"d": Settled("e", "status", "o")}, {"d": Settled("e", "status", "o")}, {}, {}, {}])
    asked: list[int] = []
    monkeypatch.setattr(replays.received_repo, "settled_digests",
                        lambda conn, account_id, digests: asked.append(page) or next(answers))
    screen = screen_for(make_engine(f"sqlite:///{tmp_path / 'screen.db'}"), 1)
    assert screen is not None
    pages = 1 + replays.SAMPLE_EVERY + 2 + 1 + replays.SAMPLE_EVERY + 1
    for page in range(pages):
        screen(["d"])
    # 0 finds nothing, so 8 is next; 8 and 9 find, so 9 and 10 are asked; 10 finds nothing: then 18
    assert asked == [0, 8, 9, 10, 18]


def test_the_screen_never_waits_for_a_connection(monkeypatch, tmp_path):
    """A worker syncing many accounts keeps every pooled connection busy: the page is mapped instead."""
    from channelport.services import replays

    asked: list[str] = []
    monkeypatch.setattr(replays.received_repo, "settled_digests",
                        lambda conn, account_id, digests: asked.append("asked") or {})
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=30)
    screen = screen_for(engine, 1)
    assert screen is not None
    with engine.connect():  # the one pooled connection, held by a storing thread
        assert screen(["d"]) == {} and asked == []
    assert screen(["d"]) == {} and asked == ["asked"]
    engine.dispose()
