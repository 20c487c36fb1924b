"""The HTML interface through the test client: German first, the Import tab, forms, and no secrets."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from channelport.services import accounts, event_imports
from channelport.store import accounts as accounts_repo
from channelport.store import workers as workers_repo
from channelport.store.db import unit_of_work
from tests.sync.conftest import FAST, SELLERS
from tests.web.conftest import SECRET_TOKEN, csrf_of, post_form, sqlite_only, wait_for

EVENTS = ("order", "status", "address", "cancellation_accepted", "cancellation_denied")


def add_shop(rt, name: str = "shop", **extra):  # type: ignore[no-untyped-def]
    return accounts.add_account(rt, name=name, kind="event-api", url="http://127.0.0.1:9", seller_id="S-1",
                                token=SECRET_TOKEN, **extra)


def import_form(day: str, at: str = "00:00:00", action: str = "save") -> dict[str, str]:
    form = {"action": action}
    for event in EVENTS:
        form.update({f"enabled-{event}": "1", f"date-{event}": day, f"time-{event}": at})
    return form


@sqlite_only
def test_german_by_default_english_on_request_and_remembered(rt, browser):
    add_shop(rt)
    page = browser.get("/accounts").text
    assert "Verkaufskanalverwaltung" in page and "Alle Konten" in page and "Jetzt abgleichen" in page
    assert '<html lang="de">' in page
    english = browser.get("/accounts?lang=en")
    assert "Sales channel management" in english.text and "cp_lang=en" in english.headers["set-cookie"]
    assert "All accounts" in browser.get("/accounts/shop").text
    assert "Alle Konten" in browser.get("/accounts/shop?lang=de").text


@sqlite_only
def test_all_accounts_show_their_badges(rt, browser):
    add_shop(rt, "a-active")
    add_shop(rt, "b-locked")
    accounts.lock_account(rt, "b-locked", reason="Inventur")
    add_shop(rt, "c-rejected")
    with unit_of_work(rt.engine) as conn:
        account = accounts_repo.find_account(conn, "c-rejected")
        accounts_repo.update_account(conn, account.id, now=rt.now(), credentials_rejected="401 invalid token",
                                     last_sync_status="failed", last_sync_at=rt.now())
    page = browser.get("/accounts").text
    assert page.count('class="badge ok">aktiv') == 2
    assert 'title="Inventur">gesperrt' in page
    assert "Zugangsdaten abgelehnt" in page and "letzter Abgleich: fehlgeschlagen" in page
    assert page.count("noch nie abgeglichen") == 2


def test_import_tab_one_date_for_all_events_saved_for_the_next_sync(rt, browser):
    add_shop(rt)
    tab = browser.get("/accounts/shop?tab=import").text
    assert "Bestellung: Statusaktualisierung" in tab and "Datum für alle Ereignisse übernehmen" in tab
    assert all(f'for="date-{e}"' in tab and f'for="time-{e}"' in tab for e in EVENTS)  # labelled fields
    assert 'value="00:00:00"' in tab  # the time defaults to midnight
    saved = post_form(browser, "/accounts/shop?tab=import", "/accounts/shop/import", import_form("2026-11-20"))
    assert saved.status_code == 303 and saved.headers["location"] == "/accounts/shop?tab=import"
    after = browser.get(saved.headers["location"]).text
    assert "Gespeichert. Die Daten werden beim nächsten Abgleich importiert." in after
    assert after.count("angefordert, wartet auf den nächsten Abgleich") == 5
    rows = event_imports.show_imports(rt, "shop")
    assert all(r.enabled and r.pending and r.from_utc.isoformat() == "2026-11-19T23:00:00+00:00" for r in rows)
    assert "Gespeichert" not in browser.get("/accounts/shop?tab=import").text  # the notice shows once


@sqlite_only
def test_date_for_all_events_works_without_scripts_and_saves_nothing(rt, browser):
    add_shop(rt)
    form = {"action": "apply-all", "all-date": "2026-11-21", "all-time": "06:30:00"}
    shown = post_form(browser, "/accounts/shop?tab=import", "/accounts/shop/import", form)
    assert shown.status_code == 200
    assert shown.text.count('value="2026-11-21"') == 6 and shown.text.count('value="06:30:00"') == 6
    assert shown.text.count("checked") == 5
    assert not any(r.enabled for r in event_imports.show_imports(rt, "shop"))


@sqlite_only
def test_a_time_in_the_spring_gap_is_refused_and_the_input_kept(rt, browser):
    add_shop(rt)
    refused = post_form(browser, "/accounts/shop?tab=import", "/accounts/shop/import",
                        import_form("2026-03-29", "02:30:00"))
    assert refused.status_code == 400
    assert "gibt es in Europe/Berlin nicht" in refused.text
    assert refused.text.count('value="2026-03-29"') == 6  # five rows and the "for all events" field
    future = post_form(browser, "/accounts/shop?tab=import", "/accounts/shop/import", import_form("2027-01-05"))
    assert future.status_code == 400 and "future" in future.text


@sqlite_only
def test_the_timeline_link_prefills_the_import_tab(rt, browser):
    add_shop(rt)
    journal = browser.get("/accounts/shop?tab=journal").text
    assert '<svg class="timeline"' in journal and journal.count('class="bucket"') == 30
    link = re.search(r'<a href="([^"]+)" class="bucket">', journal).group(1).replace("&amp;", "&")
    assert "tab=import" in link and "time=00%3A00%3A00" in link
    prefilled = browser.get(link).text
    day = re.search(r"from=(\d{4}-\d\d-\d\d)", link).group(1)
    assert prefilled.count(f'value="{day}"') == 6 and prefilled.count("checked") == 5
    assert "Prüfen Sie die Zeilen und klicken Sie auf Speichern" in prefilled


@sqlite_only
def test_adding_an_account_never_sends_the_token_back(rt, browser):
    form = {"name": "neu", "kind": "event-api", "url": "not a url", "seller_id": "S-9", "token": SECRET_TOKEN,
            "timezone": "Europe/Berlin", "settings": "timeout=5", "secrets": ""}
    refused = post_form(browser, "/accounts/new", "/accounts/new", form)
    assert refused.status_code == 400 and "invalid URL" in refused.text and SECRET_TOKEN not in refused.text
    assert 'value="S-9"' in refused.text  # everything else is kept
    created = post_form(browser, "/accounts/new", "/accounts/new", {**form, "url": "http://127.0.0.1:9"})
    assert created.status_code == 303
    general = browser.get(created.headers["location"]).text
    assert "Konto neu wurde angelegt." in general and "••••••••" in general and SECRET_TOKEN not in general


@sqlite_only
def test_general_tab_lock_unlock_deactivate_and_remove(rt, browser):
    add_shop(rt)
    url = "/accounts/shop"
    assert post_form(browser, url, "/accounts/shop/lock", {"reason": "Inventur"}).status_code == 303
    page = browser.get(url).text
    assert "Abgleich gesperrt." in page and "Inventur" in page and accounts.get_account(rt, "shop").locked
    post_form(browser, url, "/accounts/shop/unlock")
    post_form(browser, url, "/accounts/shop/active", {"active": "0"})
    assert accounts.get_account(rt, "shop").status == "inactive"
    post_form(browser, url, "/accounts/shop/edit", {"timezone": "Europe/Vienna", "token": ""})
    assert accounts.get_account(rt, "shop").timezone == "Europe/Vienna"
    wrong = post_form(browser, url, "/accounts/shop/remove", {"confirm": "other"})
    assert wrong.status_code == 303 and wrong.headers["location"] == url
    assert "Geben Sie zur Bestätigung den Namen des Kontos ein." in browser.get(url).text
    bad_tz = post_form(browser, url, "/accounts/shop/edit", {"timezone": "Mars/Base"})
    assert "unknown time zone" in browser.get(bad_tz.headers["location"]).text
    removed = post_form(browser, url, "/accounts/shop/remove", {"confirm": "shop"})
    assert removed.headers["location"] == "/accounts" and accounts.list_accounts(rt) == []


def test_sync_now_through_the_pages_then_orders_journal_and_no_credential_anywhere(rt, browser, connected,
                                                                                       market):
    market.advance(timedelta(days=1))
    accounts.lock_account(rt, "shop-two", reason="Inventur")
    started = post_form(browser, "/accounts", "/sync")
    assert started.status_code == 303 and started.headers["location"].startswith("/sync/")
    progress_page = browser.get(started.headers["location"]).text
    assert "Manueller Abgleich" in progress_page and 'data-account="shop-two"' in progress_page
    batch = wait_for(lambda: (b := browser.get(started.headers["location"] + "/progress").json())["done"] and b,
                     timeout=60)
    assert {e["account"]: e["status"] for e in batch["accounts"]} == {"shop-one": "succeeded",
                                                                       "shop-two": "skipped"}
    orders = browser.get("/orders?account=shop-one").text
    order_id = re.search(r'href="/orders/shop-one/([^"]+)"', orders).group(1)
    pages = ["/accounts", "/accounts/shop-one", "/accounts/shop-one?tab=import", "/accounts/shop-one?tab=journal",
             "/accounts/shop-one?tab=journal&bucket=hour", "/orders", "/orders?status=SHIPPED&from=2026-11-01",
             f"/orders/shop-one/{order_id}", "/events?outcome=applied", "/system", started.headers["location"]]
    for path in pages:
        response = browser.get(path)
        assert response.status_code == 200, path
        for secret in SELLERS.values():
            assert secret not in response.text, path
    detail = browser.get(f"/orders/shop-one/{order_id}").text
    assert "Positionen" in detail and "Lieferadresse" in detail and "Verlauf aller Änderungen" in detail
    journal = browser.get("/accounts/shop-one?tab=journal").text
    assert 'class="bar"' in journal and "erfolgreich" in journal and "Weboberfläche" in journal


@sqlite_only
def test_a_failed_sync_is_marked_on_the_timeline(rt, browser):
    add_shop(rt, settings={**FAST, "retry_deadline": "0.2", "connect_timeout": "0.2"})
    event_imports.request_imports(rt, "shop", day=date(2026, 11, 20))
    started = post_form(browser, "/accounts/shop", "/accounts/shop/sync")
    wait_for(lambda: browser.get(started.headers["location"] + "/progress").json()["done"], timeout=30)
    journal = browser.get("/accounts/shop?tab=journal").text
    assert journal.count('class="failure"') == 1 and "fehlgeschlagen" in journal
    assert re.search(r'<a href="/accounts/shop\?tab=import&amp;from=2026-11-27&amp;time=00%3A00%3A00" '
                     r'class="failure">', journal)


@sqlite_only
def test_worker_health_and_edition(rt, browser, clock):
    with unit_of_work(rt.engine) as conn:
        workers_repo.register(conn, worker_id="host-a:1", host="host-a", pid=1, now=clock() - timedelta(seconds=5))
        workers_repo.register(conn, worker_id="host-b:2", host="host-b", pid=2, now=clock() - timedelta(minutes=5))
    page = browser.get("/system").text
    assert "Zustand der Worker" in page and 'class="badge ok">lebt' in page and 'class="badge bad">veraltet' in page
    assert "Auftragspaket" in page or "order package" in page


@sqlite_only
def test_events_page_and_retry(rt, browser):
    add_shop(rt)
    page = browser.get("/events?outcome=parked&account=shop").text
    assert "Keine Ereignisse mit diesem Ergebnis." in page
    done = post_form(browser, "/events?outcome=parked", "/events/retry", {"account": "shop", "outcome": "parked"})
    assert "0 Ereignisse geprüft" in browser.get(done.headers["location"]).text
    refused = post_form(browser, "/events", "/events/retry", {"account": "shop", "outcome": "applied"})
    assert "Nur zurückgestellte" in browser.get(refused.headers["location"]).text


@sqlite_only
def test_bad_filter_input_is_explained_in_the_users_language(browser):
    response = browser.get("/orders?from=2026-13-01")
    assert response.status_code == 400 and "Ungültiges Von-Datum '2026-13-01'" in html.unescape(response.text)
    assert browser.get("/accounts/nope").status_code == 404
    assert csrf_of(browser.get("/orders").text)
