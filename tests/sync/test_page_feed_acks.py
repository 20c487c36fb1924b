"""Where a page's acknowledgement runs: beside the next pull when the connector allows it.

A channel 50 ms away answers an acknowledgement of ten requests in several round trips;
queued on the pulling thread, the next page would wait for all of them.
"""

from __future__ import annotations

import threading

import pytest

from channelport.connectors.base import Batch, Received
from channelport.services.page_feed import PageFeed


class Channel:
    """Pages of one entry; `ack` holds until the third pull has happened, or gives up."""

    prefetch = True

    def __init__(self, *, acks_apart: bool, patience: float) -> None:
        self.acks_apart = acks_apart
        self.patience = patience
        self.pulls = 0
        self.third_pull = threading.Event()
        self.ack_saw_third_pull: list[bool] = []
        self.threads: dict[str, set[str]] = {"pull": set(), "ack": set()}

    def pull(self, limit: int) -> Batch:
        self.threads["pull"].add(threading.current_thread().name)
        self.pulls += 1
        if self.pulls == 3:
            self.third_pull.set()
        if self.pulls > 3:
            return Batch()
        return Batch(items=(Received(f"ev-{self.pulls}", "", None, {}, problem="test entry"),), ack_ids=(f"ev-{self.pulls}",))

    def ack(self, batch: Batch) -> None:
        self.threads["ack"].add(threading.current_thread().name)
        self.ack_saw_third_pull.append(self.third_pull.wait(self.patience))


def _two_pages_with_an_ack_between(channel: Channel) -> None:
    with PageFeed(channel, 10) as feed:  # type: ignore[arg-type]
        first = feed.next_page()  # pulls page 1, asks for page 2
        feed.ack(first)
        feed.next_page()  # takes page 2, asks for page 3 while the first ack waits
        feed.finish()


def test_an_acknowledgement_runs_beside_the_next_pull_when_the_connector_allows_it() -> None:
    channel = Channel(acks_apart=True, patience=30)  # only a broken feed waits that long
    _two_pages_with_an_ack_between(channel)
    assert channel.ack_saw_third_pull == [True]
    assert channel.threads["pull"].isdisjoint(channel.threads["ack"])


@pytest.mark.parametrize("apart", [False, None])
def test_otherwise_acknowledgements_keep_their_place_on_the_channel_thread(apart: bool | None) -> None:
    channel = Channel(acks_apart=bool(apart), patience=0.3)
    if apart is None:
        del channel.acks_apart  # a connector that does not say
    _two_pages_with_an_ack_between(channel)
    assert channel.ack_saw_third_pull == [False]  # the third pull was queued behind it
    assert channel.threads["pull"] == channel.threads["ack"]
