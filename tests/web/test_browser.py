"""The merchant's story in a real browser (Debian's Chromium driven by Playwright).

History first, through the services: five days of syncs, then two days in which the channel
was down and lost its events (two failed syncs), then normal days again. In the browser:
log in, see the gap and the failed syncs on the account's timeline, open the Import tab,
use one date for all five events, save, press "Sync now" (the locked account is skipped),
watch it finish, and find the orders. Afterwards the imported orders equal the channel's.
Screenshots of the main pages go to $CHANNELPORT_SCREENSHOTS (`make screenshots`: docs/screenshots/).

Only Debian's /usr/bin/chromium is used; no browser is ever downloaded. Without it the test
is skipped with the reason, and under CI=true that is an error.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from channelport.services import accounts, event_imports, manual_sync
from tests.sync.conftest import FAST, SELLERS, START, mismatches
from tests.web.conftest import PASSWORD, USER, serving, sqlite_only

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
# `make screenshots` refreshes the README's pictures; a plain test run leaves the tree clean.
SCREENSHOTS = Path(os.environ.get("CHANNELPORT_SCREENSHOTS", Path(tempfile.gettempdir()) / "channelport-screenshots"))
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Date and time fields as a German merchant sees them (where Debian's chromium-l10n is installed).
GERMAN = {"LANGUAGE": "de", "LANG": "de_DE.UTF-8"}
QUICK_FAILURE = {**FAST, "retry_deadline": "0.3", "max_retry_wait": "0.1"}


def require_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the Python package playwright is not installed (pip install -e '.[test]')"
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


@pytest.fixture
def chromium():  # type: ignore[no-untyped-def]
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, env={**os.environ, **GERMAN})
        try:
            yield browser
        finally:
            browser.close()


def make_history(rt, market, server, clock):  # type: ignore[no-untyped-def]
    """A sync each day; on days 6 and 7 the channel is down and loses its events."""
    accounts.add_account(rt, name="shop-one", kind="event-api", url=server.url, seller_id="S-1001",
                         token=SELLERS["S-1001"], settings=QUICK_FAILURE)
    accounts.add_account(rt, name="shop-two", kind="event-api", url=server.url, seller_id="S-2002",
                         token=SELLERS["S-2002"], settings=QUICK_FAILURE)
    accounts.lock_account(rt, "shop-two", reason="Inventur")
    clock.current = START
    event_imports.request_imports(rt, "shop-one", day=START.date())
    outage_day = None
    for day in range(1, 10):
        down = day in (6, 7)
        if down:
            outage_day = outage_day or market.now.date()
            market.faults.set(lose_probability=1.0)
        market.advance(timedelta(days=1))
        clock.current = market.now
        market.faults.set(outage=down)
        manual_sync.sync_accounts(rt, names=["shop-one"])
        market.faults.reset()
    return outage_day


@sqlite_only
def test_request_the_data_again_from_the_timeline_and_sync_now(chromium, app, rt, user, market, server, clock):
    outage_day = make_history(rt, market, server, clock)
    assert mismatches(rt, market, "S-1001", "shop-one"), "the outage must have lost orders"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serving(app) as base:
        page = chromium.new_page(viewport={"width": 1280, "height": 860}, locale="de-DE")
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        page.goto(f"{base}/accounts")
        assert page.url.startswith(f"{base}/login")
        page.get_by_label("Benutzername").fill(USER)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(f"{base}/accounts")
        assert page.locator(".account-list li").count() == 2
        page.screenshot(path=SCREENSHOTS / "accounts.png")

        page.get_by_role("link", name="shop-one").first.click()
        page.screenshot(path=SCREENSHOTS / "general.png")
        page.get_by_role("link", name="Abgleichsprotokoll").click()
        assert page.locator("svg.timeline a.failure").count() == 2
        assert page.locator("svg.timeline rect.gap").count() >= 2
        page.locator("svg.timeline").screenshot(path=SCREENSHOTS / "timeline.png")
        page.screenshot(path=SCREENSHOTS / "journal.png", full_page=True)

        page.locator("svg.timeline a.failure").first.focus()  # reachable and usable by keyboard
        page.keyboard.press("Enter")
        page.wait_for_url("**tab=import**")
        assert page.locator("#date-order").input_value() != ""

        page.get_by_label("Datum", exact=True).fill(outage_day.isoformat())
        page.get_by_label("Uhrzeit", exact=True).fill("00:00:00")
        page.get_by_role("button", name="Datum für alle Ereignisse übernehmen").click()
        for event in ("order", "status", "address", "cancellation_accepted", "cancellation_denied"):
            assert page.locator(f"#date-{event}").input_value() == outage_day.isoformat()
            assert page.locator(f"#time-{event}").input_value() == "00:00:00"
            assert page.locator(f"#enabled-{event}").is_checked()
        page.get_by_role("button", name="Speichern", exact=True).click()
        page.wait_for_url("**tab=import")
        assert "Die Daten werden beim nächsten Abgleich importiert." in page.locator(".notices").inner_text()
        page.screenshot(path=SCREENSHOTS / "import.png", full_page=True)

        page.get_by_role("link", name="Verkaufskanäle").click()
        page.get_by_role("button", name="Jetzt abgleichen").click()
        page.wait_for_url("**/sync/*")
        page.locator('#sync-progress[data-done="true"]').wait_for(timeout=60_000)  # the CSP forbids eval
        assert page.locator('tr[data-account="shop-one"] .status').inner_text() == "erfolgreich"
        assert page.locator('tr[data-account="shop-two"] .status').inner_text() == "übersprungen"
        assert "Inventur" in page.locator('tr[data-account="shop-two"] .error').inner_text()
        page.screenshot(path=SCREENSHOTS / "sync.png")

        page.get_by_role("link", name="Bestellungen").first.click()
        page.get_by_label("Konto").select_option("shop-one")
        page.get_by_role("button", name="Filtern").click()
        assert page.locator("table.orders tbody tr").count() == 50
        page.screenshot(path=SCREENSHOTS / "orders.png")
        page.get_by_label("Status").select_option("SHIPPED")
        page.get_by_role("button", name="Filtern").click()
        assert set(page.locator("table.orders tbody td:nth-child(4)").all_inner_texts()) == {"SHIPPED"}
        page.locator("table.orders tbody a").first.click()
        assert page.get_by_role("heading", name="Verlauf aller Änderungen").is_visible()
        page.screenshot(path=SCREENSHOTS / "order.png", full_page=True)

        page.get_by_role("link", name="English").click()
        assert page.get_by_role("heading", name="History of every change").is_visible()
        page.goto(f"{base}/accounts/shop-one?tab=journal")
        assert page.locator("h1").inner_text() == "Sales channel management"
        page.get_by_role("link", name="Deutsch").click()
    assert problems == []  # no script error, no CSP violation
    assert mismatches(rt, market, "S-1001", "shop-one") == []
