"""Hostile input to every REST operation that takes input: never a 5xx, always a problem+json
answer that says what is wrong, and a refused request leaves the database as it was.

Every operation with a body, a path parameter or a query parameter gets generated
requests (see `hostile.py`): a valid request with one part made hostile, most of the
time. A GET must never change the database, whatever it is asked; any other request may
only when it is accepted. An accepted account keeps what was sent, character for character.

The operations that start syncs run first, while the only account is locked: the syncs
are skipped, so nothing ever connects anywhere and no background work changes the
database under a later comparison. Schemathesis (tests/web/test_schemathesis.py) covers
the documented schema; this covers what no schema describes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channelport.services import accounts
from tests.security.dump import database_dump
from tests.security.hostile import dump, encoded_body, path_segment, query_value

PROBLEM = "application/problem+json"
# per operation and backend: about 370 requests in all, ~8 s; CHANNELPORT_FUZZ_EXAMPLES=500 digs deeper
EXAMPLES = int(os.environ.get("CHANNELPORT_FUZZ_EXAMPLES", "8"))
DERANDOMIZE = "CHANNELPORT_FUZZ_EXAMPLES" not in os.environ  # the same examples on every CI run
SHOP = {"name": "shop", "kind": "event-api", "url": "http://127.0.0.1:9", "seller_id": "S-1001", "token": "t-secret"}
ROWS = [{"event": e, "enabled": True, "from": "2026-11-20T00:00:00+01:00"}
        for e in ("order", "status", "address", "cancellation_accepted", "cancellation_denied")]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # `{p}` marks the path parameter that is fuzzed; its valid value is `valid_path`
    body: Any = None  # a valid body; None: the operation takes none (a hostile one is sent anyway)
    query: dict[str, str] = field(default_factory=dict)  # valid query parameters
    valid_path: str = "shop"

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


OPERATIONS = [  # the ones that start syncs first, see the module's docstring
    Operation("POST", "/api/v1/syncs", {"accounts": ["shop"]}),
    Operation("POST", "/api/v1/accounts/{p}/sync"),
    Operation("POST", "/api/v1/accounts", {"name": "new-shop", "kind": "event-api", "url": "http://127.0.0.1:9",
                                           "sellerId": "S-7", "token": "t-secret", "timezone": "Europe/Berlin",
                                           "settings": {"timeout": 5}, "secrets": {}}),
    Operation("PATCH", "/api/v1/accounts/{p}", {"url": "http://127.0.0.1:9", "sellerId": "S-1001", "token": "t-2",
                                                "timezone": "Europe/Vienna", "settings": {"timeout": 5},
                                                "secrets": {}}),
    Operation("POST", "/api/v1/accounts/{p}/lock", {"reason": "stocktaking"}),
    Operation("POST", "/api/v1/accounts/{p}/unlock"),
    Operation("POST", "/api/v1/accounts/{p}/activate"),
    Operation("POST", "/api/v1/accounts/{p}/deactivate"),
    Operation("DELETE", "/api/v1/accounts/{p}", query={"deleteOrders": "false"}),
    Operation("PUT", "/api/v1/accounts/{p}/imports", ROWS),
    Operation("POST", "/api/v1/events/retry", {"account": "shop", "outcomes": ["parked", "rejected"]}),
    Operation("PUT", "/api/v1/edition", {"packages": ["orders"]}),
    Operation("GET", "/api/v1/orders", query={"account": "shop", "status": "SHIPPED", "since": "2026-11-01T00:00:00Z",
                                              "until": "2026-11-30T00:00:00+01:00", "limit": "10", "offset": "0"}),
    Operation("GET", "/api/v1/events", query={"outcome": "parked", "account": "shop", "limit": "10"}),
    Operation("GET", "/api/v1/events/counts", query={"account": "shop"}),
    Operation("GET", "/api/v1/runs", query={"account": "shop", "limit": "5"}),
    Operation("GET", "/api/v1/runs/{p}", valid_path="1"),
    Operation("GET", "/api/v1/syncs/{p}", valid_path="0" * 32),
    Operation("GET", "/api/v1/accounts/{p}", query={"unexpected": "x"}),
    Operation("GET", "/api/v1/accounts/{p}/imports"),
    Operation("GET", "/api/v1/accounts/{p}/timeline", query={"days": "30", "bucket": "day"}),
    Operation("GET", "/api/v1/accounts/shop/orders/{p}", valid_path="KL-1"),
]


@st.composite
def requests(draw: Callable[..., Any], op: Operation) -> dict[str, Any]:
    """One request for `op`: the path parameter, the query or the body made hostile (at least one)."""
    parts = draw(st.sets(st.sampled_from(["path", "query", "body"]), min_size=1))
    segment = draw(path_segment()) if "path" in parts and "{p}" in op.path else op.valid_path
    url = op.path.replace("{p}", segment)
    query = dict(op.query)
    if "query" in parts:
        names = [*op.query, "limit", "account", "since", "x"]
        for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
            query[name] = draw(query_value())
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    if "body" in parts or op.body is not None:
        valid = op.body if op.body is not None else {}
        content, content_type = draw(encoded_body(valid)) if "body" in parts else (dump(valid).encode(), "application/json")
    else:
        content, content_type = b"", None
    return {"method": op.method, "url": url, "content": content,
            "headers": {"content-type": content_type} if content_type else {}}


def check_answer(op: Operation, request: dict[str, Any], response: Any) -> None:
    what = f"{request['method']} {request['url'][:200]} body={request['content'][:200]!r}"
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, what
        problem = response.json()
        assert problem["status"] == response.status_code and problem["title"], what
        assert isinstance(problem.get("detail"), str) and problem["detail"].strip(), f"{what}: no detail {problem}"
        assert len(problem["detail"]) < 2000, f"{what}: the detail quotes too much"


def ensure_shop(rt) -> None:  # type: ignore[no-untyped-def]
    """The fuzzed account exists, locked (so a sync request is skipped), whatever the last example did."""
    names = {a.name: a for a in accounts.list_accounts(rt)}
    if "shop" not in names:
        accounts.add_account(rt, **SHOP)
    if not accounts.get_account(rt, "shop").locked:
        accounts.lock_account(rt, "shop", reason="fuzzing")


def test_hostile_input_never_breaks_the_api(api, rt):
    ensure_shop(rt)
    assert api.get("/api/v1/accounts").status_code == 200  # the token's first use is recorded now, not later
    answered: dict[str, set[int]] = {}
    for op in OPERATIONS:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                  suppress_health_check=list(HealthCheck))
        @given(request=requests(op))
        def holds(request: dict[str, Any]) -> None:
            ensure_shop(rt)
            before = database_dump(rt)
            response = api.request(**request)
            check_answer(op, request, response)
            answered.setdefault(op.label, set()).add(response.status_code)
            if response.status_code >= 400 or op.method == "GET":
                assert database_dump(rt) == before, f"{op.label} changed the database: {request['url'][:200]}"

        holds()
    refused_somehow = {label for label, codes in answered.items() if any(code >= 400 for code in codes)}
    assert refused_somehow == {op.label for op in OPERATIONS}, "every operation should have met refusable input"


def test_accepted_text_is_stored_exactly(api, rt):
    """Nothing lost: odd but acceptable text comes back as it was sent, on both backends."""
    odd = ["S-ß-😀-\u202e-İ", "ＳＨＯＰ\tmit Tab", "a" * 150]
    for i, seller in enumerate(odd):
        created = api.post("/api/v1/accounts", json={"name": f"odd-{i}", "kind": "event-api",
                                                     "url": "http://127.0.0.1:9", "sellerId": seller, "token": "t"})
        assert created.status_code == 201, created.text
        assert api.get(f"/api/v1/accounts/odd-{i}").json()["sellerId"] == seller
        reason = f"Inventur {seller}"
        assert api.post(f"/api/v1/accounts/odd-{i}/lock", json={"reason": reason}).json()["lockReason"] == reason


def test_nul_in_a_path_or_query_is_refused_not_a_crash(api, browser, rt):
    """Found by the fuzzing above on PostgreSQL (text cannot hold NUL): these were 500s."""
    ensure_shop(rt)
    refused = api.get("/api/v1/accounts/shop/orders/KL%001")
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM, refused.text
    for page in ("/orders?account=a%00b", "/orders?status=%00", "/events?account=%00", "/orders/shop/KL%001"):
        assert browser.get(page, follow_redirects=False).status_code == 400, page
