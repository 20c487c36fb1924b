"""The REST API on both backends: accounts, the Import tab, edition, journal, errors as problem+json."""

from __future__ import annotations

from channelport.services import users
from tests.web.conftest import SECRET_TOKEN

PROBLEM = "application/problem+json"
NEW_SHOP = {"name": "shop", "kind": "event-api", "url": "http://127.0.0.1:9", "sellerId": "S-1001",
            "token": SECRET_TOKEN, "settings": {"timeout": 5}}


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_account_lifecycle(api):
    created = api.post("/api/v1/accounts", json=NEW_SHOP)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active" and created.json()["settings"] == {"timeout": 5.0}
    assert [a["name"] for a in api.get("/api/v1/accounts").json()] == ["shop"]

    edited = api.patch("/api/v1/accounts/shop", json={"timezone": "Europe/Vienna", "token": "a-new-token"})
    assert edited.json()["timezone"] == "Europe/Vienna"
    locked = api.post("/api/v1/accounts/shop/lock", json={"reason": "stocktaking"}).json()
    assert locked["locked"] and locked["lockReason"] == "stocktaking" and locked["status"] == "locked"
    assert api.post("/api/v1/accounts/shop/unlock").json()["locked"] is False
    assert api.post("/api/v1/accounts/shop/deactivate").json()["status"] == "inactive"
    assert api.post("/api/v1/accounts/shop/activate").json()["active"] is True
    assert api.get("/api/v1/accounts/shop").json()["sellerId"] == "S-1001"

    removed = api.delete("/api/v1/accounts/shop")
    assert removed.json() == {"name": "shop", "ordersDeleted": 0}
    assert api.get("/api/v1/accounts").json() == []


def test_errors_are_problem_details_that_say_what_to_do(api):
    assert "unknown account 'nope'" in problem(api.get("/api/v1/accounts/nope"), 404)["detail"]
    api.post("/api/v1/accounts", json=NEW_SHOP)
    assert "exists already" in problem(api.post("/api/v1/accounts", json=NEW_SHOP), 409)["detail"]
    assert "invalid URL" in problem(api.post("/api/v1/accounts", json={**NEW_SHOP, "name": "b", "url": "ftp:x"}),
                                    400)["detail"]
    assert "unknown connector kind" in problem(
        api.post("/api/v1/accounts", json={**NEW_SHOP, "name": "c", "kind": "nope"}), 404)["detail"]
    invalid = problem(api.post("/api/v1/accounts", json={"name": "x"}), 422)
    assert {e["field"] for e in invalid["errors"]} >= {"body.kind", "body.url"}
    problem(api.post("/api/v1/accounts", content=b"{oops", headers={"content-type": "application/json"}), 422)
    problem(api.post("/api/v1/accounts/shop/lock", json={"reason": ""}), 422)
    problem(api.get("/api/v1/runs/99"), 404)
    problem(api.get("/api/v1/nowhere"), 404)
    problem(api.delete("/api/v1/edition"), 405)


def test_no_answer_contains_a_credential(api):
    api.post("/api/v1/accounts", json={**NEW_SHOP, "secrets": {}})
    for path in ("/api/v1/accounts", "/api/v1/accounts/shop", "/api/v1/accounts/shop/imports", "/api/v1/runs",
                 "/api/v1/openapi.json"):
        assert SECRET_TOKEN not in api.get(path).text


def test_import_tab_read_and_replaced_as_a_whole(api, clock):
    api.post("/api/v1/accounts", json=NEW_SHOP)
    rows = api.get("/api/v1/accounts/shop/imports").json()
    assert [r["event"] for r in rows] == ["order", "status", "address", "cancellation_accepted",
                                          "cancellation_denied"]
    assert not any(r["enabled"] for r in rows)
    body = [{"event": r["event"], "enabled": True, "from": "2026-11-20T00:00:00+01:00"} for r in rows]
    body[4] = {"event": "cancellation_denied", "enabled": False, "from": None}
    saved = api.put("/api/v1/accounts/shop/imports", json=body)
    assert saved.status_code == 200, saved.text
    first = saved.json()[0]
    assert first["pending"] and first["fromUtc"].startswith("2026-11-19T23:00:00")
    assert first["from"].startswith("2026-11-20T00:00:00+01:00")
    assert saved.json()[4] == {"event": "cancellation_denied", "enabled": False, "from": None, "fromUtc": None,
                               "pending": False}
    assert "future" in problem(api.put("/api/v1/accounts/shop/imports", json=[
        {**row, "from": "2027-01-01T00:00:00Z"} for row in body]), 400)["detail"]
    assert "exactly once" in problem(api.put("/api/v1/accounts/shop/imports", json=[body[0]] * 5), 400)["detail"]
    problem(api.put("/api/v1/accounts/shop/imports", json=body[:4]), 422)
    problem(api.put("/api/v1/accounts/shop/imports", json=[{**row, "from": "2026-11-20T00:00:00"} for row in body]),
            422)  # without an offset the instant is ambiguous


def test_edition_gates_the_import(api):
    api.post("/api/v1/accounts", json=NEW_SHOP)
    assert api.get("/api/v1/edition").json()["packages"] == ["orders"]
    assert api.put("/api/v1/edition", json={"packages": []}).json()["packages"] == []
    rows = [{"event": e, "enabled": True, "from": None} for e in
            ("order", "status", "address", "cancellation_accepted", "cancellation_denied")]
    assert "order package" in problem(api.put("/api/v1/accounts/shop/imports", json=rows), 409)["detail"]
    assert api.put("/api/v1/edition", json={"packages": ["orders"]}).status_code == 200
    problem(api.put("/api/v1/edition", json={"packages": ["gold"]}), 400)


def test_journal_events_workers_and_orders_start_empty(api):
    api.post("/api/v1/accounts", json=NEW_SHOP)
    assert api.get("/api/v1/runs").json() == []
    assert api.get("/api/v1/events", params={"outcome": "parked"}).json() == []
    assert api.get("/api/v1/events/counts").json() == {}
    assert api.get("/api/v1/workers").json() == []
    assert api.get("/api/v1/orders", params={"account": "shop", "status": "SHIPPED"}).json() == []
    problem(api.get("/api/v1/accounts/shop/orders/KL-1"), 404)
    timeline = api.get("/api/v1/accounts/shop/timeline").json()
    assert timeline["total"] == 0 and len(timeline["buckets"]) == 30 and timeline["failedRuns"] == []
    retried = api.post("/api/v1/events/retry", json={"account": "shop"}).json()
    assert retried == {"account": "shop", "considered": 0, "notRetryable": 0, "status": None, "runId": None,
                       "counts": {}, "error": None}


def test_openapi_document_declares_every_operation_with_models_and_problems(api, rt):
    doc = api.get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 25
    for path, method, op in operations:
        ok = [code for code in op["responses"] if code.startswith("2")]
        assert ok and "content" in op["responses"][ok[0]], (method, path)
        if path.startswith("/api/"):
            assert op["security"] == [{"HTTPBearer": []}], (method, path)
            assert "application/problem+json" in op["responses"]["401"]["content"], (method, path)
    users.revoke_token(rt, name="tests")
    assert api.get("/api/v1/openapi.json").status_code == 401
