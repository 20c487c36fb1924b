"""Connections dropped mid-body, over real HTTP: the client retries, the truth arrives.

The simulator's `disconnect_probability` sends the status line and the full
Content-Length, half the body, then closes the connection, on every kind of request.
The request itself took effect on the channel: a cut subscription was accepted, a cut
pull put its events in flight, a cut acknowledgement acknowledged. The client sees only
a peer that hung up (httpx.RemoteProtocolError) and must neither lose nor double
anything because of it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from channelport.services import event_imports
from tests.faults.support import NAMES, settle, sync_all
from tests.sync.conftest import mismatches

pytestmark = pytest.mark.usefixtures("connected")


def test_answers_cut_off_mid_body_end_in_the_truth(rt, market):
    market.faults.set(disconnect_probability=0.35)
    statuses = []
    for round_no in range(3):
        market.advance(timedelta(hours=16))
        if round_no == 1:  # a replay too, so cut subscriptions and re-deliveries happen
            for name in NAMES:
                event_imports.request_imports(rt, name, day=date(2026, 11, 1))
        statuses += [r.status for r in sync_all(rt).values()]
    cut = market.faults.fired["disconnect_probability"]
    market.faults.reset()
    settle(market)
    final = sync_all(rt)
    assert cut >= 5, f"only {cut} answers were cut off: the fault did not really happen"
    assert {r.status for r in final.values()} == {"succeeded"}, final
    for name, seller in NAMES.items():
        assert mismatches(rt, market, seller, name) == []
    assert set(statuses) <= {"succeeded", "failed"}
