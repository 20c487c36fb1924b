"""Security: nothing answers without authentication, sessions and tokens are what they claim,
forms need their CSRF token, logins are throttled, every answer carries the security headers."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import Mount

from channelport.services import accounts, users
from channelport.store.auth import api_tokens
from channelport.store import auth as auth_store
from channelport.store.db import read_only
from tests.web.conftest import PASSWORD, USER, csrf_of, log_in, post_form, sqlite_only

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/health")}
SAMPLE = {"name": "shop", "order_id": "KL-1", "order_id:path": "KL-1", "run_id": "1", "batch_id": "0" * 32}


def flat_routes(app):  # type: ignore[no-untyped-def]
    """(path, route) of every route, also where FastAPI keeps included routers unflattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.16x: app.routes is flat already
        return [(route.path, route) for route in app.routes]
    return [(context.path, context.original_route) for context in iter_route_contexts(app.routes)]


def every_route(app):  # type: ignore[no-untyped-def]
    for template, route in flat_routes(app):
        if isinstance(route, APIRoute) or getattr(route, "methods", None):
            path = re.sub(r"{([^}]+)}", lambda m: SAMPLE[m.group(1)], template)
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, template, path


def test_every_route_refuses_a_caller_without_authentication(app, client):
    walked = 0
    for method, template, path in every_route(app):
        if (method, template) in PUBLIC:
            continue
        response = client.request(method, path, follow_redirects=False, data={"x": "1"} if method != "GET" else None)
        walked += 1
        if template.startswith("/api/") or template == "/metrics":  # machine endpoints: bearer token
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login")
    assert walked >= 40
    # also paths no route has, and malformed bodies: authentication comes first
    assert client.get("/api/v1/no-such-thing").status_code == 401
    assert client.post("/api/v1/accounts", content=b"{not json").status_code == 401
    assert client.get("/no-such-page", follow_redirects=False).status_code == 303


@sqlite_only
def test_only_login_health_and_static_are_public(app, client):
    mounts = [path for path, r in flat_routes(app) if isinstance(r, Mount)]
    assert mounts == ["/static"]
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/login").status_code == 200


def test_only_a_hash_of_a_token_is_stored_and_a_wrong_or_revoked_token_is_refused(rt, client, token):
    with read_only(rt.engine) as conn:
        rows = list(conn.execute(select(api_tokens)))
    assert len(rows) == 1 and token not in repr(tuple(rows[0])) and len(rows[0].token_hash) == 64
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Basic {token}"}).status_code == 401
    users.revoke_token(rt, name="tests")
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_passwords_are_salted_scrypt_hashes(rt, user):
    with read_only(rt.engine) as conn:
        stored = auth_store.find_user(conn, USER).password_hash
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert users.password_matches(PASSWORD, stored) and not users.password_matches(PASSWORD + "x", stored)
    assert users.hash_password(PASSWORD) != users.hash_password(PASSWORD)  # a fresh salt every time


@sqlite_only
def test_login_sets_a_signed_http_only_cookie_and_logout_ends_the_session(client, user):
    login_page = client.get("/login")
    response = client.post("/login", data={"username": USER, "password": PASSWORD,
                                           "csrf_token": csrf_of(login_page.text), "next": "/orders"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/orders"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert PASSWORD.lower() not in cookie
    assert client.get("/accounts").status_code == 200
    assert post_form(client, "/accounts", "/logout").status_code == 303
    assert client.get("/accounts", follow_redirects=False).status_code == 303


@sqlite_only
def test_a_wrong_password_is_refused_with_one_message_for_both_cases(client, user):
    for name in (USER, "nobody"):
        page = client.get("/login")
        response = client.post("/login", data={"username": name, "password": "wrong-password!",
                                               "csrf_token": csrf_of(page.text)})
        assert response.status_code == 401
        assert "Benutzername oder Passwort falsch." in response.text


@sqlite_only
def test_login_attempts_are_throttled_per_user_and_address(client, rt, user):
    users.add_user(rt, name="bert", password=PASSWORD)
    for _ in range(5):
        page = client.get("/login")
        assert client.post("/login", data={"username": USER, "password": "wrong-password!",
                                           "csrf_token": csrf_of(page.text)}).status_code == 401
    page = client.get("/login")
    blocked = client.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert blocked.status_code == 429 and "Zu viele Fehlversuche" in blocked.text
    log_in(client, "bert")  # another user from the same address is not locked out by anna's typos


@sqlite_only
def test_the_next_parameter_never_leaves_the_site(client, user):
    page = client.get("/login")
    response = client.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                           "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/accounts"


@sqlite_only
def test_forms_need_the_csrf_token_of_the_session(rt, browser):
    accounts.add_account(rt, name="shop", kind="event-api", url="http://127.0.0.1:9", seller_id="S-1", token="t-1")
    refused = browser.post("/accounts/shop/lock", data={"reason": "x", "csrf_token": "forged"},
                           follow_redirects=False)
    assert refused.status_code == 403
    assert browser.post("/accounts/shop/lock", data={"reason": "x"}, follow_redirects=False).status_code == 403
    assert not accounts.get_account(rt, "shop").locked
    done = post_form(browser, "/accounts/shop", "/accounts/shop/lock", {"reason": "inventory"})
    assert done.status_code == 303 and accounts.get_account(rt, "shop").locked


@sqlite_only
def test_a_state_change_from_another_origin_is_refused(rt, browser):
    page = browser.get("/accounts")
    response = browser.post("/logout", data={"csrf_token": csrf_of(page.text)},
                            headers={"origin": "http://evil.example"}, follow_redirects=False)
    assert response.status_code == 403
    assert browser.get("/accounts", follow_redirects=False).status_code == 200


@sqlite_only
def test_a_tampered_session_cookie_is_worth_nothing(client, user):
    log_in(client)
    value = client.cookies.get("cp_session")
    client.cookies.set("cp_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/accounts", follow_redirects=False).status_code == 303


@sqlite_only
def test_changing_the_password_ends_open_sessions(rt, browser):
    assert browser.get("/accounts", follow_redirects=False).status_code == 200
    users.set_password(rt, name=USER, password="Ein-neues-Passwort-1")
    assert browser.get("/accounts", follow_redirects=False).status_code == 303


@sqlite_only
def test_every_answer_carries_the_security_headers(browser, token):
    for path in ("/accounts", "/login", "/api/v1/accounts", "/static/app.js", "/nowhere", "/api/v1/nowhere"):
        headers = browser.get(path, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False).headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


@sqlite_only
def test_pages_load_no_inline_script_and_nothing_from_elsewhere(browser):
    html = browser.get("/accounts").text
    assert re.findall(r"<script(?![^>]*\bsrc=\"/static/)", html) == []
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers either
    assert not re.search(r'(src|href)="(https?:)?//', html)
