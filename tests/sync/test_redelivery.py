"""Redelivered backlogs are progress; a channel that ignores acknowledgements is not.

A process that dies between its commit and its acknowledgement leaves a page the channel
sends again under the same ids. Several such pages in a row (after several crashes, or a
long outage of the acknowledgement call) must not end the next sync early: the events
behind them would wait for another sync. Only a channel that re-sends what THIS sync
acknowledged is broken, and the sync must end rather than loop forever.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from channelport.services import accounts as accounts_service
from channelport.services import sync as sync_module
from channelport.services.sync import sync_account
from tests.sync.conftest import mismatches

pytestmark = pytest.mark.usefixtures("connected")


class SwallowAcks(httpx.BaseTransport):
    """Answers every acknowledgement with success without passing it on: the events stay queued."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.swallowed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            self.swallowed += 1
            return httpx.Response(200, json={"acknowledged": 0})
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _account(rt, name: str):  # type: ignore[no-untyped-def]
    return accounts_service.get_account(rt, name)


def test_a_backlog_of_recorded_but_unacknowledged_pages_does_not_end_the_sync_early(rt, market, monkeypatch):
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 20)
    market.advance(timedelta(days=2))
    lost = SwallowAcks()
    first = sync_account(rt, _account(rt, "shop-one"), trigger="manual", transport=lost)
    assert first.status == "succeeded" and lost.swallowed > 0
    # what a process that died after each commit leaves: everything committed, nothing acknowledged
    assert market.expire_inflight() == first.events > 5 * 20
    market.advance(timedelta(days=1))  # new trading behind the backlog
    second = sync_account(rt, _account(rt, "shop-one"), trigger="manual")
    assert second.status == "succeeded", second.error
    assert second.total("duplicate") == first.events
    assert mismatches(rt, market, "S-1001", "shop-one") == []
    assert market.stats()["sellers"]["S-1001"]["queued"] == 0


def test_a_channel_that_ignores_acknowledgements_ends_the_sync_with_a_clear_error(rt, market, monkeypatch):
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 50)
    market.advance(timedelta(days=1))
    monkeypatch.setattr(market, "visibility_timeout", 0.0001)  # what it sent comes straight back
    report = sync_account(rt, _account(rt, "shop-one"), trigger="manual", transport=SwallowAcks())
    assert report.status == "failed"
    assert "ignores acknowledgements" in report.error
    assert report.events == (1 + sync_module.REPEAT_PAGES_LIMIT) * 50
    assert report.total("applied") > 0 and report.total("duplicate") == sync_module.REPEAT_PAGES_LIMIT * 50
