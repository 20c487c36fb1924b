"""Manual sync through the API against the simulator: run ids at once, progress by polling, then
the imported orders, one order's history, the timeline and the received-events counts."""

from __future__ import annotations

from datetime import timedelta

from channelport.services import accounts
from tests.sync.conftest import exported
from tests.web.conftest import wait_for


def finished_run(api, run_id: int) -> dict:  # type: ignore[no-untyped-def]
    def done():  # type: ignore[no-untyped-def]
        run = api.get(f"/api/v1/runs/{run_id}").json()
        return run if run["status"] != "running" else None

    return wait_for(done, timeout=60)


def test_manual_sync_in_the_background_then_orders_history_and_timeline(api, rt, connected, market):
    market.advance(timedelta(days=2))
    accounts.lock_account(rt, "shop-two", reason="inventory")
    started = api.post("/api/v1/syncs")
    assert started.status_code == 202, started.text
    entries = {e["account"]: e for e in started.json()["accounts"]}
    assert entries["shop-two"]["status"] == "skipped" and "inventory" in entries["shop-two"]["error"]
    assert entries["shop-two"]["runId"] is None
    run_id = entries["shop-one"]["runId"]
    assert run_id and entries["shop-one"]["status"] in ("running", "succeeded")

    run = finished_run(api, run_id)
    assert run["status"] == "succeeded" and run["account"] == "shop-one" and run["trigger"] == "web"
    assert run["events"] > 0 and run["counts"]["order"]["applied"] > 0
    batch = wait_for(lambda: (b := api.get(f"/api/v1/syncs/{started.json()['id']}").json())["done"] and b)
    assert [e["status"] for e in batch["accounts"]] == ["succeeded", "skipped"]
    assert run_id in [r["id"] for r in api.get("/api/v1/runs", params={"account": "shop-one"}).json()]

    listed = api.get("/api/v1/orders", params={"account": "shop-one", "limit": 500}).json()
    assert len(listed) == len(exported(rt, "shop-one")) > 0
    assert api.get("/api/v1/orders", params={"account": "shop-two"}).json() == []
    shipped = api.get("/api/v1/orders", params={"account": "shop-one", "status": "SHIPPED", "limit": 500}).json()
    assert shipped and all(o["status"] == "SHIPPED" for o in shipped)
    since = listed[len(listed) // 2]["purchasedAt"]
    assert all(o["purchasedAt"] >= since for o in api.get("/api/v1/orders", params={
        "account": "shop-one", "since": since, "limit": 500}).json())

    with_history = next(d for d in (api.get(f"/api/v1/accounts/shop-one/orders/{o['orderId']}").json()
                                    for o in shipped) if d["history"])
    assert with_history["orderItem"] and with_history["shippingAddress"]["city"]
    assert {h["event"] for h in with_history["history"]} >= {"status"}

    timeline = api.get("/api/v1/accounts/shop-one/timeline", params={"bucket": "hour", "days": 2}).json()
    assert timeline["total"] == len(listed) and len(timeline["buckets"]) > 24
    counts = api.get("/api/v1/events/counts", params={"account": "shop-one"}).json()
    assert counts["applied"] > 0


def test_one_account_synced_on_its_own(api, rt, connected, market):
    market.advance(timedelta(hours=12))
    started = api.post("/api/v1/accounts/shop-two/sync")
    assert started.status_code == 202
    [entry] = started.json()["accounts"]
    assert entry["account"] == "shop-two"
    assert finished_run(api, entry["runId"])["status"] == "succeeded"
    assert api.post("/api/v1/accounts/nope/sync").status_code == 404
    assert api.get("/api/v1/syncs/" + "0" * 32).status_code == 404
