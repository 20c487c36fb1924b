"""Web fixtures: the app on the test's runtime, an API client with a token, a logged-in browser
client, and the app served over real HTTP for Playwright and schemathesis.

The simulator fixtures (`market`, `server`, `connected`) come from tests/sync/conftest.py.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channelport.services import users
from channelport.web import create_app
from channelport.web.ratelimit import LoginThrottle
from tests.sync.conftest import connected, market, server  # noqa: F401  (fixtures shared with the sync tests)

USER, PASSWORD = "anna", "Lange-genug-2026!"

# Behaviour that does not depend on the database runs on SQLite only, to keep tests/web fast;
# everything that stores or queries runs on both backends.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at 1/16 of its cost: hashes made here still verify the production way (the cost is stored)."""
    monkeypatch.setattr(users, "SCRYPT_N", 2**10)
SECRET_TOKEN = "shop-token-Never-Shown-4711"  # a channel credential no page or answer may contain


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def app(rt) -> FastAPI:  # type: ignore[no-untyped-def]
    return create_app(rt, sync_concurrency=2, throttle=LoginThrottle())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def token(rt) -> str:  # type: ignore[no-untyped-def]
    return users.create_token(rt, name="tests")


@pytest.fixture
def api(client: TestClient, token: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def user(rt) -> str:  # type: ignore[no-untyped-def]
    users.add_user(rt, name=USER, password=PASSWORD)
    return USER


def log_in(client: TestClient, name: str = USER, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post("/login", data={"username": name, "password": password, "csrf_token": csrf_of(page.text),
                                           "next": "/accounts"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def browser(client: TestClient, user: str) -> TestClient:
    """A client with a logged-in session, as a browser would hold it."""
    return log_in(client)


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, str] | None = None,
              **kwargs: object):  # type: ignore[no-untyped-def]
    """Submit a form the way a browser does: take the CSRF token from the page it is on."""
    page = client.get(page_url)
    return client.post(action, data={"csrf_token": csrf_of(page.text), **(data or {})},
                       headers={"referer": f"http://testserver{page_url}"}, follow_redirects=False, **kwargs)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", loop="asyncio", http="h11",
                            timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"web:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def wait_for(predicate, *, timeout: float = 30.0, every: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(every)
