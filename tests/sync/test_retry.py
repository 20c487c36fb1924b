"""`events retry`: rejected events are decided again after the cause was fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channelport.errors import SyncRefused
from channelport.services import accounts, installation, manual_sync
from channelport.services.retry import retry_events
from channelport.services.runs import event_counts
from tests.sync.conftest import mismatches

pytestmark = pytest.mark.usefixtures("connected")


def test_events_for_another_seller_are_rejected_then_applied_after_the_fix(rt, market):
    market.advance(timedelta(days=1))
    accounts.edit_account(rt, "shop-one", seller_id="S-9999")  # a typo in the seller id
    report = {r.account: r for r in manual_sync.sync_accounts(rt)}["shop-one"]
    assert report.status == "succeeded"
    assert report.total("applied") == 0 and report.total("rejected") == report.events > 0
    counts = event_counts(rt, account="shop-one")
    assert counts == {"rejected": report.events}, "rejected events are kept, never dropped"

    accounts.edit_account(rt, "shop-one", seller_id="S-1001")
    result = retry_events(rt, account="shop-one")
    assert result.report is not None and result.report.status == "succeeded"
    assert result.considered == report.events and result.not_retryable == 0
    assert mismatches(rt, market, "S-1001", "shop-one") == []
    assert "rejected" not in event_counts(rt, account="shop-one")


def test_without_the_order_package_no_sync_runs(rt, market):
    installation.set_packages(rt, packages="none")
    with pytest.raises(SyncRefused, match="order package"):
        manual_sync.sync_accounts(rt)
