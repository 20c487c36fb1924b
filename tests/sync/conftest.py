"""End-to-end fixtures: a real simulator over loopback HTTP and a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone

import pytest

from channelport.services import accounts, event_imports
from channelport.services.orders import export_orders
from channelport.services.verify import compare
from channelport.simulator import Marketplace, serve

START = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
SELLERS = {"S-1001": "token-one", "S-2002": "token-two"}
FAST = {"retry_deadline": "1", "max_retry_wait": "0.3", "timeout": "5", "connect_timeout": "2"}


@pytest.fixture
def market() -> Marketplace:
    return Marketplace(seed=7, start=START, sellers=dict(SELLERS), visibility_timeout=30.0, orders_per_day=40)


@pytest.fixture
def server(market: Marketplace) -> Iterator[object]:
    with serve(market, port=0) as srv:
        yield srv


@pytest.fixture
def connected(rt, server):  # type: ignore[no-untyped-def]
    """Two accounts, one per seller, importing all five events from the start day."""
    for name, (seller, token) in zip(("shop-one", "shop-two"), SELLERS.items(), strict=True):
        accounts.add_account(rt, name=name, kind="event-api", url=server.url, seller_id=seller, token=token,
                             settings=FAST)
        event_imports.request_imports(rt, name, day=date(2026, 11, 1))
    return rt


def exported(rt, name: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(export_orders(rt, accounts=[name]))


def truth(market: Marketplace, seller: str, name: str) -> list[dict]:
    return market.truth(seller, account=name)


def mismatches(rt, market: Marketplace, seller: str, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Human-readable differences (the same comparison the demo reports), so a failing test
    says which order went wrong; empty when the export equals the truth."""
    return compare(exported(rt, name), truth(market, seller, name)).describe(limit=20)
