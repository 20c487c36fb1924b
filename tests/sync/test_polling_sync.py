"""Polling channels end to end: fake Amazon SP-API and WooCommerce over loopback HTTP,
the real sync engine and database (SQLite and PostgreSQL), export == the channel's truth.

Every fake answers in real time (the connector reads its own clock); orders are placed
in the last two days and the imports are requested from three days ago.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from channelport.services import accounts, event_imports, manual_sync
from channelport.services.orders import export_orders
from channelport.services.verify import compare
from channelport.store.db import read_only
from channelport.store.tables import connector_state, orders, received_events
from tests.connectors.amazon_fake import DE, FR, FakeSpApi
from tests.connectors.loopback import LoopbackServer
from tests.connectors.woo_fake import FakeWooCommerce

UTC = timezone.utc
FAST = {"retry_deadline": "3", "max_retry_wait": "0.05", "timeout": "5", "connect_timeout": "2"}


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def sync(rt, name: str):  # type: ignore[no-untyped-def]
    (report,) = manual_sync.sync_accounts(rt, names=[name])
    return report


def sync_until_caught_up(rt, name: str, limit: int = 8) -> list[Any]:  # type: ignore[no-untyped-def]
    """Sync until one sync brings nothing: the engine ends a sync early after three batches
    in a row with nothing new, which is what re-reading unchanged snapshots looks like."""
    reports = []
    for _ in range(limit):
        report = sync(rt, name)
        reports.append(report)
        assert report.status == "succeeded", report.error
        if report.events == 0:
            return reports
    raise AssertionError(f"{name} did not catch up in {limit} syncs: {[r.events for r in reports]}")


def check(rt, name: str, truth: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    result = compare(export_orders(rt, accounts=[name]), truth)
    assert result.exact, result.describe()


def order_rows(rt) -> int:  # type: ignore[no-untyped-def]
    with read_only(rt.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(orders)))


def stored_state(rt) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with read_only(rt.engine) as conn:
        return dict(conn.execute(select(connector_state.c.state)).scalar_one())


# --------------------------------------------------------------------------- Amazon


@pytest.fixture
def amazon() -> Iterator[tuple[FakeSpApi, LoopbackServer]]:
    fake = FakeSpApi()
    with LoopbackServer(fake.app) as server:
        yield fake, server


def add_amazon(rt, fake: FakeSpApi, server: LoopbackServer, name: str = "amazon-de", **extra: str) -> None:  # type: ignore[no-untyped-def]
    settings = {
        "marketplace_ids": DE,
        "lwa_client_id": fake.client_id,
        "lwa_token_url": f"{server.url}/auth/o2/token",
        "page_size": "10",
        "orders_per_batch": "5",
        **FAST,
        **extra,
    }
    accounts.add_account(rt, name=name, kind="amazon-sp-api", url=server.url, seller_id="A2SELLER", token=fake.refresh_token,
                         settings=settings, secrets={"lwa_client_secret": fake.client_secret})
    event_imports.request_imports(rt, name, day=(real_now() - timedelta(days=3)).date())


def seed_amazon(fake: FakeSpApi, count: int = 30) -> None:
    start = real_now() - timedelta(days=2)
    fake.seed(count, start=start, end=real_now() - timedelta(hours=1))
    fake.add_order(purchased=start + timedelta(hours=3), status="Pending")  # not imported: no prices yet
    fake.add_order(purchased=start + timedelta(hours=4), marketplace=FR)  # another marketplace: not listed


def amazon_truth(fake: FakeSpApi, name: str = "amazon-de", *, restricted: bool = True) -> list[dict[str, Any]]:
    return [order for order in fake.truth(name, restricted=restricted) if fake.orders[order["orderId"]].marketplace == DE]


def test_amazon_backfill_from_a_date_equals_the_channel(rt, amazon):
    fake, server = amazon
    seed_amazon(fake)
    add_amazon(rt, fake, server)
    report = sync(rt, "amazon-de")
    assert report.status == "succeeded", report.error
    truth = amazon_truth(fake)
    assert len(truth) == 30
    check(rt, "amazon-de", truth)
    assert report.counts["order"]["applied"] == 30
    buyer_cancelled = [o for o in fake.orders.values() if o.status == "Canceled" and o.items[0].cancel_reason]
    assert report.counts["cancellation_accepted"]["applied"] == len(buyer_cancelled) > 0
    assert not any(row.pending for row in event_imports.show_imports(rt, "amazon-de"))
    # Pages of 10 with NextToken, items in pages of 2, one token for the whole sync.
    listed = [q for path, q in fake.requests if path == "/orders/v0/orders"]
    assert len(listed) == 4 and sum("NextToken" in q for q in listed) == 3
    assert {q["LastUpdatedAfter"] for q in listed} == {listed[0]["LastUpdatedAfter"]}
    assert fake.count("/auth/o2/token") == 1 and fake.count("restrictedDataToken") == 1
    assert fake.count("/address") == 0  # the listing had the addresses
    state = stored_state(rt)
    assert state["scan"] is None and state["cursor"] is not None


def test_amazon_repeated_backfill_imports_nothing_twice(rt, amazon):
    fake, server = amazon
    seed_amazon(fake)
    add_amazon(rt, fake, server)
    assert sync(rt, "amazon-de").status == "succeeded"
    before = list(export_orders(rt, accounts=["amazon-de"]))
    with read_only(rt.engine) as conn:
        logged = conn.scalar(select(func.count()).select_from(received_events))
    event_imports.request_imports(rt, "amazon-de", day=(real_now() - timedelta(days=3)).date())
    reports = sync_until_caught_up(rt, "amazon-de")
    assert sum(r.total("applied") for r in reports) == 0
    assert list(export_orders(rt, accounts=["amazon-de"])) == before
    assert order_rows(rt) == 30
    with read_only(rt.engine) as conn:  # unchanged snapshots derive nothing: not even a duplicate row
        assert conn.scalar(select(func.count()).select_from(received_events)) == logged


def test_amazon_orders_changing_during_and_between_backfills(rt, amazon):
    fake, server = amazon
    seed_amazon(fake)
    first_page = sorted(fake.orders.values(), key=lambda o: (o.updated, o.order_id))[:10]
    unshipped = [o.order_id for o in first_page if o.status == "Unshipped"]
    assert len(unshipped) >= 2

    def while_listing(page: int) -> None:
        if page == 2:  # page 1 is committed; these orders move behind the listing's position
            fake.change(unshipped[0], status="Shipped", address={"AddressLine1": "Packstation 101", "City": "Bonn"})
            fake.change(unshipped[1], buyer_cancel="Ordered twice.")

    fake.faults.on_page = while_listing
    add_amazon(rt, fake, server)
    assert sync(rt, "amazon-de").status == "succeeded"
    check(rt, "amazon-de", amazon_truth(fake))

    # Between syncs: the buyer's request is granted; another order ships; a late write
    # (stamped before the last listing ended) is still caught by the overlap.
    fake.faults.on_page = None
    fake.change(unshipped[1], status="Canceled")
    partial = next(o for o in fake.orders.values() if o.status == "PartiallyShipped")
    last_end = datetime.fromisoformat(stored_state(rt)["cursor"].replace("Z", "+00:00")) + timedelta(seconds=600)
    fake.change(partial.order_id, status="Shipped", at=last_end - timedelta(seconds=30))
    report = sync(rt, "amazon-de")
    assert report.status == "succeeded", report.error
    assert report.counts["cancellation_accepted"]["applied"] == 1
    check(rt, "amazon-de", amazon_truth(fake))
    history = {o["orderId"]: o for o in export_orders(rt, accounts=["amazon-de"])}
    assert history[unshipped[1]]["cancellationRequests"][0]["state"] == "ACCEPTED"
    assert history[unshipped[0]]["shippingAddress"]["street"] == "Packstation 101"


def test_amazon_429_bursts_5xx_and_expired_access_tokens_are_ridden_out(rt, amazon):
    fake, server = amazon
    seed_amazon(fake, 20)

    def faults(page: int) -> None:
        if page == 1:
            fake.faults.script(429, 3, {"x-amzn-RateLimit-Limit": "50"})
            fake.faults.script(503, 2)
        if page == 2:
            fake.expire_tokens()

    fake.faults.on_page = faults
    add_amazon(rt, fake, server)
    report = sync(rt, "amazon-de")
    assert report.status == "succeeded", report.error
    check(rt, "amazon-de", amazon_truth(fake))
    assert fake.count("/auth/o2/token") == 2  # the expired token was refreshed once


def test_amazon_outage_longer_than_the_retry_deadline_resumes_where_it_stopped(rt, amazon):
    fake, server = amazon
    seed_amazon(fake)
    fake.faults.on_page = lambda page: fake.faults.script(503, 1000) if page == 2 else None
    add_amazon(rt, fake, server, retry_deadline="0.5")
    report = sync(rt, "amazon-de")
    assert report.status == "failed" and "unavailable" in report.error
    imported = order_rows(rt)
    assert 0 < imported < 30  # the first page was committed, with its cursor
    assert stored_state(rt)["scan"]["position"] is not None
    fake.faults.answers.clear()
    fake.faults.on_page = None
    sync_until_caught_up(rt, "amazon-de")
    check(rt, "amazon-de", amazon_truth(fake))
    assert order_rows(rt) == 30


def test_amazon_paginator_returning_the_same_page_forever_stops_the_sync(rt, amazon):
    fake, server = amazon
    seed_amazon(fake)
    fake.faults.repeat_page = True
    add_amazon(rt, fake, server)
    report = sync(rt, "amazon-de")
    assert report.status == "failed"
    assert "paginator" in report.error
    first_page = sorted((o for o in fake.orders.values() if o.marketplace == DE), key=lambda o: (o.updated, o.order_id))[:10]
    assert order_rows(rt) == sum(o.status != "Pending" for o in first_page)  # the page, once
    assert len([1 for path, _q in fake.requests if path == "/orders/v0/orders"]) == 2


def test_amazon_refused_refresh_token_fails_loudly_and_keeps_the_request(rt, amazon):
    fake, server = amazon
    seed_amazon(fake, 5)
    fake.faults.refuse_refresh_token = True
    add_amazon(rt, fake, server)
    report = sync(rt, "amazon-de")
    assert report.status == "failed" and "credentials rejected" in report.error and "invalid_grant" in report.error
    assert accounts.get_account(rt, "amazon-de").status == "credentials rejected"
    fake.faults.refuse_refresh_token = False
    assert sync(rt, "amazon-de").status == "succeeded"
    check(rt, "amazon-de", amazon_truth(fake))


def test_amazon_without_restricted_data_imports_addresses_without_names(rt):
    fake = FakeSpApi(address_in_listing=False)
    fake.faults.refuse_restricted = True
    with LoopbackServer(fake.app) as server:
        seed_amazon(fake, 8)
        add_amazon(rt, fake, server)
        report = sync(rt, "amazon-de")
    assert report.status == "succeeded", report.error
    check(rt, "amazon-de", amazon_truth(fake, restricted=False))
    exposing = [o for o in fake.orders.values() if o.marketplace == DE and o.status not in ("Canceled", "Pending")]
    assert fake.count("/address") == len(exposing)  # getOrderAddress where the status exposes it
    assert fake.count("restrictedDataToken") == 1  # asked once, then done without


# --------------------------------------------------------------------------- WooCommerce


@pytest.fixture
def shop() -> Iterator[tuple[FakeWooCommerce, LoopbackServer]]:
    fake = FakeWooCommerce()
    with LoopbackServer(fake.app) as server:
        yield fake, server


def add_shop(rt, fake: FakeWooCommerce, server: LoopbackServer, name: str = "shop", **extra: str) -> None:  # type: ignore[no-untyped-def]
    settings = {"page_size": "10", "settle_seconds": "5", "requests_per_second": "200", "burst": "20", **FAST, **extra}
    accounts.add_account(rt, name=name, kind="woocommerce", url=server.url, seller_id="my-shop", token=fake.key,
                         settings=settings, secrets={"consumer_secret": fake.secret})
    event_imports.request_imports(rt, name, day=(real_now() - timedelta(days=3)).date())


def seed_shop(fake: FakeWooCommerce, count: int = 35) -> None:
    fake.seed(count, start=real_now() - timedelta(days=2), end=real_now() - timedelta(hours=1))
    draft = fake.add_order(created=real_now() - timedelta(hours=5), status="checkout-draft")
    assert draft.status == "checkout-draft"


def test_woocommerce_backfill_and_repeated_backfill(rt, shop):
    fake, server = shop
    seed_shop(fake)
    add_shop(rt, fake, server)
    report = sync(rt, "shop")
    assert report.status == "succeeded", report.error
    check(rt, "shop", fake.truth("shop"))
    assert report.counts["order"]["applied"] == 35
    listed = fake.requests
    assert all(q["orderby"] == "modified" and q["order"] == "asc" and q["dates_are_gmt"] == "true" for q in listed)
    before = list(export_orders(rt, accounts=["shop"]))

    event_imports.request_imports(rt, "shop", day=(real_now() - timedelta(days=3)).date())
    reports = sync_until_caught_up(rt, "shop")
    assert sum(r.total("applied") for r in reports) == 0
    assert list(export_orders(rt, accounts=["shop"])) == before
    assert order_rows(rt) == 35


def test_woocommerce_orders_modified_while_the_backfill_reads_them(rt, shop):
    fake, server = shop
    seed_shop(fake)
    by_modified = sorted(fake.orders.values(), key=lambda o: (o.modified, o.id))
    early = [o.id for o in by_modified[:10] if o.status in ("processing", "pending", "on-hold")]

    def while_listing(page: int) -> None:
        if page == 2:  # modified now: page 1's orders move to the end of the window
            fake.change(early[0], status="completed")
            fake.change(early[1], status="cancelled", shipping={"address_1": "Am Markt 1", "city": "Halle"})
            fake.change(early[2], paid=True, status="processing")

    fake.faults.on_page = while_listing
    add_shop(rt, fake, server)
    report = sync(rt, "shop")
    assert report.status == "succeeded", report.error
    check(rt, "shop", fake.truth("shop"))
    assert report.counts["status"]["applied"] >= 3

    # A change after the sync, then a sync: the status and the new address come in.
    fake.faults.on_page = None
    fake.change(early[0], shipping={"address_1": "Neue Str. 2"})
    assert sync(rt, "shop").status == "succeeded"
    check(rt, "shop", fake.truth("shop"))


def test_woocommerce_429_with_retry_after_and_an_outage(rt, shop):
    fake, server = shop
    seed_shop(fake, 25)

    def faults(page: int) -> None:
        if page == 1:
            fake.faults.script(429, 2, {"Retry-After": "0"})
            fake.faults.script(503, 2)

    fake.faults.on_page = faults
    add_shop(rt, fake, server)
    assert sync(rt, "shop").status == "succeeded"
    check(rt, "shop", fake.truth("shop"))
    assert [q.get("page") for q in fake.requests[:5]] == ["1"] * 5  # the same request until it was answered

    # An outage longer than the retry deadline: the sync fails, then the next completes.
    accounts.edit_account(rt, "shop", settings={"retry_deadline": "0.3"})
    fake.change(next(iter(fake.orders)), status="completed")
    server.stop()
    report = sync(rt, "shop")
    assert report.status == "failed" and "unavailable" in report.error
    server.start()
    assert sync(rt, "shop").status == "succeeded"
    check(rt, "shop", fake.truth("shop"))


def test_woocommerce_paginator_ignoring_the_page_stops_the_sync(rt, shop):
    fake, server = shop
    for n in range(30):  # thirty orders modified in the same second: only `offset` can step through
        fake.add_order(created=real_now() - timedelta(hours=2), modified=real_now() - timedelta(hours=1))
    fake.faults.ignore_page = True
    add_shop(rt, fake, server)
    report = sync(rt, "shop")
    assert report.status == "failed" and "ignores the `offset` parameter" in report.error
    assert order_rows(rt) == 10


def test_woocommerce_wrong_keys_fail_loudly(rt, shop):
    fake, server = shop
    seed_shop(fake, 3)
    add_shop(rt, fake, server)
    fake.secret = "cs_rotated"  # the merchant revoked the key in the shop
    report = sync(rt, "shop")
    assert report.status == "failed" and "credentials rejected" in report.error
    assert "woocommerce_rest_cannot_view" in report.error
