"""Fixtures: a small two-seller marketplace on a fixed clock, served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest

from channelport.simulator import Marketplace, SimServer, serve

START = datetime(2026, 11, 20, tzinfo=timezone.utc)
SELLERS = {"S-1001": "token-1", "S-2002": "token-2"}
VISIBILITY = 5.0  # seconds: long enough that a drain on a busy machine sees no re-delivery
SHORT_VISIBILITY = 1.0  # what re-delivery tests switch to, then wait a little longer than


@pytest.fixture
def market() -> Marketplace:
    return Marketplace(seed=7, start=START, sellers=SELLERS, visibility_timeout=VISIBILITY, orders_per_day=40)


@pytest.fixture(scope="session")
def shared_server() -> Iterator[SimServer]:
    """One server for the session (starting and stopping uvicorn costs ~0.25 s a test)."""
    placeholder = Marketplace(seed=0, start=START, sellers=SELLERS, orders_per_day=0)
    with serve(placeholder) as running:
        yield running


@pytest.fixture
def server(shared_server: SimServer, market: Marketplace) -> SimServer:
    """The shared server, now serving this test's fresh marketplace."""
    shared_server.marketplace = market
    return shared_server


@pytest.fixture
def own_server(market: Marketplace) -> Iterator[SimServer]:
    """A server of its own, for tests that stop and start it."""
    with serve(market) as running:
        yield running


def _client(server: SimServer, token: str | None) -> httpx.Client:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


# httpx builds an SSL context for every client (~0.1 s here), so clients live for the session.
@pytest.fixture(scope="session")
def _clients(shared_server: SimServer) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        "token-1": _client(shared_server, "token-1"),
        "token-2": _client(shared_server, "token-2"),
        "control": _client(shared_server, None),
    }
    yield clients
    for http in clients.values():
        http.close()


@pytest.fixture
def client(server: SimServer, _clients: dict[str, httpx.Client]) -> httpx.Client:
    """Seller S-1001 on the test's marketplace."""
    return _clients["token-1"]


@pytest.fixture
def client2(server: SimServer, _clients: dict[str, httpx.Client]) -> httpx.Client:
    """Seller S-2002 on the test's marketplace."""
    return _clients["token-2"]


@pytest.fixture
def control(server: SimServer, _clients: dict[str, httpx.Client]) -> httpx.Client:
    """The /_sim/ control API (no token)."""
    return _clients["control"]
