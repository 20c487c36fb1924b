"""`sync`, `runs`, `orders`, `events` through the command line, against the simulator."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from channelport.cli import app
from channelport.services import accounts
from tests.sync.conftest import truth

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("connected")


def cp(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_sync_all_then_export_equals_truth(rt, market):
    market.advance(timedelta(days=1))
    market.inject_unknown_event("S-1001")
    result = cp("sync", "--all", "--json")
    assert result.exit_code == 0, result.output
    reports = {r["account"]: r for r in json.loads(result.stdout)}
    assert reports["shop-one"]["status"] == "succeeded" and reports["shop-one"]["counts"]["unknown"]["unknown"] == 1
    exported = [json.loads(line) for line in cp("orders", "export", "--format", "jsonl").stdout.splitlines()]
    assert exported == truth(market, "S-1001", "shop-one") + truth(market, "S-2002", "shop-two")
    table = cp("events", "--outcome", "unknown")
    assert table.exit_code == 0 and "unknown 1" in table.stdout
    as_json = json.loads(cp("events", "--outcome", "unknown", "--json").stdout)
    assert "GiftNote" in as_json[0]["type"] and as_json[0]["raw"] and as_json[0]["outcome"] == "unknown"
    runs = json.loads(cp("runs", "--json").stdout)
    assert {r["status"] for r in runs} == {"succeeded"} and {r["trigger"] for r in runs} == {"manual"}


def test_csv_export_has_one_row_per_item(rt, market):
    market.advance(timedelta(hours=12))
    assert cp("sync", "shop-one").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(cp("orders", "export", "--format", "csv").stdout)))
    items = sum(len(o["orderItem"]) for o in truth(market, "S-1001", "shop-one"))
    assert len(rows) == items and rows[0]["account"] == "shop-one"


def test_a_failed_sync_exits_1_and_a_locked_account_is_listed_as_skipped(rt, market):
    market.advance(timedelta(hours=6))
    market.faults.set(expired_sellers=["S-1001"])
    accounts.lock_account(rt, "shop-two", reason="stocktaking")
    result = cp("sync", "--all")
    assert result.exit_code == 1
    assert "credentials rejected" in result.stdout and "skipped" in result.stdout and "stocktaking" in result.stdout


def test_order_show_and_list(rt, market):
    market.advance(timedelta(days=2))
    cp("sync", "--all")
    order = truth(market, "S-1001", "shop-one")[0]
    shown = cp("orders", "show", "shop-one", order["orderId"], "--json")
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert detail["orderStatus"] == order["orderStatus"] and detail["history"][0]["part"] == "order"
    assert order["orderId"] in cp("orders", "list", "--account", "shop-one", "--limit", "1000").stdout
    assert cp("orders", "show", "shop-one", "NOPE").exit_code == 2


def test_sync_usage_errors(home):
    assert cp("sync").exit_code == 2
    assert cp("sync", "ghost").exit_code == 2
    assert cp("events", "--outcome", "weird").exit_code == 2
