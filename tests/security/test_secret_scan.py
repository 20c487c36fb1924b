"""No channel credential leaves Channelport in plain text: an end-to-end scan of every output.

Five accounts of all three connector kinds, added through the REST API, the command line
and the service, each holding distinctive secrets; syncs that succeed and one that fails
because the channel rejects an expired token; logging at DEBUG (SQL statements, HTTP
requests) in both log formats. Then every place a secret could end up is searched for
the secrets in plain, URL-encoded, base64 and HTML-escaped form (see `leaks.py`):

- the log lines, text and JSON, and every raw log record before masking;
- every GET route of the web app (REST API, pages, metrics): bodies and headers;
- the command line's output for every reading command, and a verbose sync with JSON log lines;
- the order export (JSON lines and CSV);
- the database: every row of every table through SQL, and on SQLite the raw bytes of
  the database file (with its WAL) and every other file of the data directory.

Each scan is paired with a check that the scanned material is what it should be (the
SQL log holds the sealed credentials, the dump holds rows that decrypt to the secrets),
so an empty capture cannot pass for a clean one.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from channelport import logs
from channelport.cli import app as cli_app
from channelport.services import accounts, event_imports, manual_sync, runs
from channelport.services.orders import export_orders
from tests.connectors.amazon_fake import DE, FakeSpApi
from tests.connectors.loopback import LoopbackServer
from tests.connectors.woo_fake import FakeWooCommerce
from tests.security.conftest import SELLER_ONE, SELLER_TWO, TOKEN_ONE, TOKEN_TWO, RawRecords
from tests.security.dump import database_dump
from tests.security.leaks import find
from tests.web.conftest import wait_for
from tests.web.test_auth import flat_routes

UTC = timezone.utc
WOO_KEY = "ck_Woo|Key+7Fh2Kd9Lq4Xs1Rv/6Mn&3Bt0Qe"
WOO_SECRET = "cs_Woo|Secret+5Jg8Pw2Ez6Cy/1Ua&4Hk7Zr"
AMAZON_REFRESH = "Atzr|IwEBIAmazon+Refresh/8Vq3Nd6&Ls0WkYt"
AMAZON_CLIENT_SECRET = "amzn1.oa2-cs.v1.Client+Secret/4Rb9&TzMx"
SECRETS = {
    "event-api token one": TOKEN_ONE,
    "event-api token two": TOKEN_TWO,
    "woocommerce consumer key": WOO_KEY,
    "woocommerce consumer secret": WOO_SECRET,
    "amazon refresh token": AMAZON_REFRESH,
    "amazon client secret": AMAZON_CLIENT_SECRET,
}
FAST = {"retry_deadline": "1", "max_retry_wait": "0.05", "timeout": "5", "connect_timeout": "2"}
runner = CliRunner()


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def assert_clean(where: str, haystack: str | bytes, secrets: dict[str, str] = SECRETS) -> None:
    leaked = find(haystack, secrets)
    assert not leaked, f"{where} contains {leaked}"


def test_a_credential_sent_as_a_query_parameter_is_masked_in_the_log():
    logs.register_secrets(WOO_KEY, WOO_SECRET)  # what the sync does the moment it decrypts them
    line = (f"HTTP Request: GET http://shop.example/wp-json/wc/v3/orders?page=1&consumer_key={quote(WOO_KEY, safe='')}"
            f"&consumer_secret={quote(WOO_SECRET, safe='')} \"HTTP/1.1 200 OK\"")
    assert find(logs.mask(line), SECRETS) == []


def test_the_scanner_finds_every_encoded_form():
    """The scan below is only worth something if it would see a leak."""
    basic = base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
    assert find(f"Authorization: Basic {basic}", SECRETS) == [
        "woocommerce consumer key: base64", "woocommerce consumer secret: base64"]
    assert find("GET /orders?consumer_secret=cs_Woo%7cSecret%2B5Jg8Pw2Ez6Cy%2F1Ua%264Hk7Zr", SECRETS) == [
        "woocommerce consumer secret: url-encoded"]
    assert find(b"\x00\x01" + TOKEN_ONE.encode() + b"\x02", SECRETS)[0] == "event-api token one: plain"
    assert find("<td>evt|Tok3n+two/Hy5Nc1Ju6Te3Go&amp;8Ps-S2002</td>", SECRETS) == [
        "event-api token two: html-escaped"]
    assert find("a token that merely starts alike: evt|Tok3n+", SECRETS) == []


# --------------------------------------------------------------------------- channels


@pytest.fixture
def woo() -> Any:
    fake = FakeWooCommerce(key=WOO_KEY, secret=WOO_SECRET)
    fake.seed(6, start=real_now() - timedelta(days=2), end=real_now() - timedelta(hours=1))
    with LoopbackServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def amazon() -> Any:
    fake = FakeSpApi(refresh_token=AMAZON_REFRESH, client_secret=AMAZON_CLIENT_SECRET)
    fake.seed(6, start=real_now() - timedelta(days=2), end=real_now() - timedelta(hours=1))
    with LoopbackServer(fake.app) as server:
        yield fake, server


def connect_on_the_command_line(woo, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The two WooCommerce accounts through `account add`, as a merchant would; returns its output.

    (Run before logging is captured: each command sets up logging afresh, as in production.)"""
    _fake, woo_server = woo
    monkeypatch.setenv("WOO_KEY", WOO_KEY)
    monkeypatch.setenv("WOO_SECRET", WOO_SECRET)
    polling = {"page_size": "10", "settle_seconds": "5", "requests_per_second": "200", "burst": "20", **FAST}
    outputs = []
    for name, auth in (("woo-basic", "basic"), ("woo-query", "query")):  # query: the secrets travel in the URL
        settings = [arg for key, value in {**polling, "auth": auth}.items() for arg in ("--set", f"{key}={value}")]
        added = runner.invoke(cli_app, ["account", "add", name, "--kind", "woocommerce", "--url", woo_server.url,
                                        "--seller-id", name, "--token-env", "WOO_KEY",
                                        "--secret", "consumer_secret=WOO_SECRET", *settings])
        assert added.exit_code == 0, added.output
        outputs.append(added.stdout + added.stderr)
    return outputs


def connect_the_others(rt, api, server, amazon) -> None:  # type: ignore[no-untyped-def]
    """The event-api accounts through the REST API and the service, Amazon through the service."""
    created = api.post("/api/v1/accounts", json={
        "name": "shop-one", "kind": "event-api", "url": server.url, "sellerId": SELLER_ONE, "token": TOKEN_ONE,
        "settings": FAST})
    assert created.status_code == 201, created.text
    accounts.add_account(rt, name="shop-two", kind="event-api", url=server.url, seller_id=SELLER_TWO,
                         token=TOKEN_TWO, settings=FAST)
    amazon_fake, amazon_server = amazon
    accounts.add_account(
        rt, name="amazon-de", kind="amazon-sp-api", url=amazon_server.url, seller_id="A2SELLER", token=AMAZON_REFRESH,
        settings={"marketplace_ids": DE, "lwa_client_id": amazon_fake.client_id,
                  "lwa_token_url": f"{amazon_server.url}/auth/o2/token", "page_size": "10", **FAST},
        secrets={"lwa_client_secret": AMAZON_CLIENT_SECRET})
    for name in ("shop-one", "shop-two"):
        event_imports.request_imports(rt, name, day=date(2026, 11, 1))
    for name in ("woo-basic", "woo-query", "amazon-de"):
        event_imports.request_imports(rt, name, day=(real_now() - timedelta(days=3)).date())


# --------------------------------------------------------------------------- surfaces


def every_get_path(app, values: dict[str, list[str]]) -> list[str]:  # type: ignore[no-untyped-def]
    """Each GET route of the app, once for every combination of the sample path values."""
    paths = []
    for template, route in flat_routes(app):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue
        expanded = [template]
        for parameter in re.findall(r"{([^}]+)}", template):
            expanded = [p.replace(f"{{{parameter}}}", v) for p in expanded for v in values[parameter.split(":")[0]]]
        paths.extend(expanded)
    return paths


def data_files(home: Path, database_url: str) -> dict[str, bytes]:
    """The data directory's files and, on SQLite, the database file with its WAL and journal.

    `secret.key` is left out on purpose: it is the key, and it is kept apart from the database
    (a stolen database file alone must not give the credentials away)."""
    files = [p for p in home.rglob("*") if p.is_file() and p.name != "secret.key"]
    if database_url.startswith("sqlite:///"):
        db = Path(database_url.removeprefix("sqlite:///"))
        files += [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-journal")) if p.exists()]
    return {str(p): p.read_bytes() for p in files}


CLI_READS = [
    ["account", "list"], ["account", "list", "--json"], ["runs"], ["runs", "--json"], ["events"],
    ["events", "--json"], ["orders", "list"], ["orders", "export", "--format", "jsonl"],
    ["orders", "export", "--format", "csv"], ["edition", "show"], ["connectors"], ["worker", "status"],
    ["token", "list"], ["user", "list"],
]
ACCOUNTS = ("shop-one", "shop-two", "woo-basic", "woo-query", "amazon-de")


# --------------------------------------------------------------------------- the scan


def test_no_secret_leaves_in_plain_text(rt, app, api, browser, server, market, woo, amazon, log_capture, home,
                                        database_url, monkeypatch):
    added = connect_on_the_command_line(woo, monkeypatch)
    raw = RawRecords()
    logging.getLogger().addHandler(raw)  # first, so it sees records before any filter masks them
    written = log_capture()
    try:
        connect_the_others(rt, api, server, amazon)
        market.advance(timedelta(days=1))
        market.faults.set(expired_sellers=[SELLER_TWO])
        reports = {r.account: r for r in manual_sync.sync_accounts(rt)}
        assert {name: r.status for name, r in reports.items()} == {
            "shop-one": "succeeded", "shop-two": "failed", "woo-basic": "succeeded", "woo-query": "succeeded",
            "amazon-de": "succeeded"}, {name: r.error for name, r in reports.items()}
        assert "credentials rejected" in reports["shop-two"].error
        # and a sync started through the REST API, in the app's background pool
        batch = api.post("/api/v1/accounts/shop-one/sync").json()["id"]
        wait_for(lambda: api.get(f"/api/v1/syncs/{batch}").json()["done"])
    finally:
        logging.getLogger().removeHandler(raw)
    access_tokens = {f"amazon access token {i}": t for i, t in enumerate(amazon[0].tokens)}
    assert access_tokens, "the Amazon fake should have handed out access tokens"
    every_secret = {**SECRETS, **access_tokens}

    # the logs: what the product writes, in both formats
    for fmt, buffer in written.items():
        text = buffer.getvalue()
        assert "channel_accounts" in text and "gAAAAA" not in text, f"{fmt}: SQL logged, sealed values masked"
        assert "HTTP Request" in text and "credentials rejected" in text, f"{fmt}: requests and the failure logged"
        leaked = find(text, every_secret)
        assert not leaked, f"the {fmt} log contains {leaked}"
    # and the records before masking: only the HTTP client's request line (the URL, which holds
    # the query-auth credentials) ever carries a secret; the handler's filter must mask it
    assert len(raw.records) > 100
    ours = "\n".join(text for logger, text in raw.records if not logger.startswith(("httpx", "httpcore")))
    assert_clean("a log record before masking", ours, every_secret)

    # every GET route of the web app, for every account, order, run and sync
    order = next(iter(export_orders(rt, accounts=["shop-one"])))
    values = {"name": list(ACCOUNTS), "order_id": [order["orderId"]], "batch_id": [batch],
              "run_id": [str(r.id) for r in runs.list_runs(rt, limit=50)]}
    paths = every_get_path(app, values)
    assert len(paths) > 40
    for path in paths:
        response = browser.get(path, follow_redirects=False)
        assert response.status_code in (200, 303, 404), (path, response.status_code)
        assert_clean(f"GET {path}", response.content + repr(response.headers).encode(), every_secret)
    assert "credentials rejected" in api.get("/api/v1/accounts/shop-two").text  # the failure is shown, the token not

    # the command line: every reading command, and a verbose sync
    for output in added:
        assert_clean("`channelport account add`", output)
    outputs = {" ".join(args): runner.invoke(cli_app, args) for args in CLI_READS}
    for name in ACCOUNTS:
        for args in (["account", "show", name], ["account", "show", name, "--json"]):
            outputs[" ".join(args)] = runner.invoke(cli_app, args)
    outputs["orders show"] = runner.invoke(cli_app, ["orders", "show", "shop-one", order["orderId"], "--json"])
    verbose = runner.invoke(cli_app, ["-v", "--log-format", "json", "sync", "--all"])  # (text: see the log above)
    assert verbose.exit_code == 1 and '"account": "shop-two"' in verbose.stderr  # shop-two still fails, and says so
    outputs["-v --log-format json sync --all"] = verbose
    for command, result in outputs.items():
        assert result.exit_code in (0, 1), (command, result.output)
        assert_clean(f"`channelport {command}`", result.stdout + result.stderr, every_secret)
    exported = outputs["orders export --format jsonl"].stdout.splitlines()
    assert len(exported) == len(list(export_orders(rt))) > 10

    # the export, as the service hands it to any caller
    assert_clean("the export", json.dumps(list(export_orders(rt)), default=str), every_secret)

    # the database: every row through SQL, and the raw files of the data directory
    dump = database_dump(rt)
    sealed = re.findall(r"gAAAAA[A-Za-z0-9_\-=]+", dump)
    assert len(sealed) == len(ACCOUNTS), "each account's credentials are in the dump, sealed"
    opened = json.dumps([rt.box.open(s) for s in sealed])
    assert all(secret in opened for secret in SECRETS.values()), "and they decrypt to the secrets"
    assert_clean("the database", dump, every_secret)
    files = data_files(home, database_url)
    if database_url.startswith("sqlite"):
        assert any(b"gAAAAA" in content for content in files.values()), "the database file was read"
    for path, content in files.items():
        assert_clean(path, content, every_secret)
