"""Sales channel management (Verkaufskanalverwaltung): all accounts, and one in tabs.

Laid out like the dialog merchants know from their ERP: the list of all accounts with
badges on the left, the chosen account on the right with the tabs General, Import and
Sync journal. Every change is a form POST with a CSRF token, answered by a redirect
(post/redirect/get), so reloading a page never repeats an action.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from channelport.connectors.registry import available_kinds
from channelport.domain.accounts import Account
from channelport.errors import UsageError
from channelport.services import accounts, event_imports, journal, runs, worker
from channelport.services.runtime import Runtime
from channelport.web.deps import CsrfChecked, PageDep, RuntimeDep
from channelport.web.pages.forms import (
    FormError,
    ImportField,
    import_fields,
    pairs,
    parse_day,
    parse_time,
    text,
    with_date_for_all,
)
from channelport.web.pages.rendering import Page
from channelport.web.pages.timeline_chart import build_chart
from channelport.web.schemas import ACCOUNT_NAME_PATTERN

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Path(pattern=ACCOUNT_NAME_PATTERN)]
TABS = ("general", "import", "journal")


def account_url(name: str, tab: str = "general", **params: str) -> str:
    query = urlencode({"tab": tab, **params})
    return f"/accounts/{quote(name, safe='')}?{query}"


@router.get("/")
def home(page: PageDep) -> Response:
    return page.redirect("/accounts")


@router.get("/accounts")
def all_accounts(page: PageDep, rt: RuntimeDep) -> Response:
    return page.render("accounts.html", section="accounts", accounts=accounts.list_accounts(rt), account=None,
                       workers=worker.worker_status(rt))


@router.get("/accounts/new")
def new_account_form(page: PageDep, rt: RuntimeDep) -> Response:
    return _new_form(page, accounts.list_accounts(rt), values={}, error=None)


@router.post("/accounts/new", dependencies=[CsrfChecked])
async def create_account(request: Request, page: PageDep, rt: RuntimeDep) -> Response:
    form = await request.form()
    values = {k: text(form, k) for k in ("name", "kind", "url", "seller_id", "timezone", "settings")}
    try:
        account = accounts.add_account(
            rt, name=values["name"], kind=values["kind"], url=values["url"], seller_id=values["seller_id"],
            token=text(form, "token", limit=4000), timezone=values["timezone"] or "Europe/Berlin",
            settings=pairs(values["settings"]), secrets=pairs(text(form, "secrets", limit=8000)),
        )
    except UsageError as exc:  # the form again, without the token and secrets: they never go back out
        return _new_form(page, accounts.list_accounts(rt), values=values, error=page.translated(exc), status=400)
    return page.redirect(account_url(account.name), page.t("Account {name} was added.", name=account.name))


@router.get("/accounts/{name}")
def account_page(
    page: PageDep,
    rt: RuntimeDep,
    name: Name,
    tab: Annotated[str, Query(pattern="^(general|import|journal)$")] = "general",
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    time: Annotated[str | None, Query(max_length=8)] = None,
    bucket: Annotated[str, Query(pattern="^(day|hour)$")] = "day",
) -> Response:
    account = accounts.get_account(rt, name)
    if tab == "import":
        fields = import_fields(event_imports.show_imports(rt, name))
        prefilled = False
        if from_:
            day, at = parse_day(from_), parse_time(time or "00:00:00")
            fields, prefilled = with_date_for_all(fields, day.isoformat(), at.strftime("%H:%M:%S")), True
        return import_tab(page, rt, account, fields, prefilled=prefilled)
    if tab == "journal":
        timeline = journal.import_timeline(rt, name, days=30, bucket=bucket)
        chart = build_chart(timeline, lambda local: account_url(
            name, "import", **{"from": local.date().isoformat(), "time": local.strftime("%H:%M:%S")}))
        return _tab(page, rt, account, "journal", timeline=timeline, chart=chart,
                    runs=runs.list_runs(rt, account=name, limit=50))
    return _tab(page, rt, account, "general", kinds=available_kinds())


@router.post("/accounts/{name}/edit", dependencies=[CsrfChecked])
async def edit(request: Request, page: PageDep, rt: RuntimeDep, name: Name) -> Response:
    form = await request.form()
    account = accounts.edit_account(
        rt, name, url=text(form, "url") or None, seller_id=text(form, "seller_id") or None,
        timezone=text(form, "timezone") or None, token=text(form, "token", limit=4000) or None,
        settings=pairs(text(form, "settings")) or None, secrets=pairs(text(form, "secrets", limit=8000)) or None,
    )
    return page.redirect(account_url(account.name), page.t("Changes saved."))


@router.post("/accounts/{name}/active", dependencies=[CsrfChecked])
async def set_active(request: Request, page: PageDep, rt: RuntimeDep, name: Name) -> Response:
    active = text(await request.form(), "active") == "1"
    accounts.set_active(rt, name, active=active)
    return page.redirect(account_url(name), page.t("Account activated.") if active else page.t("Account deactivated."))


@router.post("/accounts/{name}/lock", dependencies=[CsrfChecked])
async def lock(request: Request, page: PageDep, rt: RuntimeDep, name: Name) -> Response:
    accounts.lock_account(rt, name, reason=text(await request.form(), "reason"))
    return page.redirect(account_url(name), page.t("Sync locked. Manual syncs and the worker skip this account."))


@router.post("/accounts/{name}/unlock", dependencies=[CsrfChecked])
def unlock(page: PageDep, rt: RuntimeDep, name: Name) -> Response:
    accounts.unlock_account(rt, name)
    return page.redirect(account_url(name), page.t("Sync unlocked."))


@router.post("/accounts/{name}/remove", dependencies=[CsrfChecked])
async def remove(request: Request, page: PageDep, rt: RuntimeDep, name: Name) -> Response:
    form = await request.form()
    if text(form, "confirm") != name:
        raise FormError("Type the account's name to confirm its removal.")
    deleted = accounts.remove_account(rt, name, delete_orders=form.get("delete_orders") is not None)
    return page.redirect("/accounts", page.t("Account {name} was removed ({count} orders deleted).",
                                             name=name, count=str(deleted)))


# --- rendering, shared with the Import tab's route --------------------------------------------


def _tab(page: Page, rt: Runtime, account: Account, tab: str, *, status: int = 200, **context: object) -> Response:
    return page.render(f"account_{tab}.html", status=status, section="accounts", accounts=accounts.list_accounts(rt),
                       account=account, tab=tab, account_url=account_url, **context)


def import_tab(page: Page, rt: Runtime, account: Account, fields: list[ImportField], *, status: int = 200,
               prefilled: bool = False, error: str | None = None) -> Response:
    first = next((f for f in fields if f.day), None)
    return _tab(page, rt, account, "import", status=status, fields=fields, prefilled=prefilled, error=error,
                all_day=first.day if first else "", all_at=first.at if first else "00:00:00")


def _new_form(page: Page, all_: list[Account], *, values: dict[str, str], error: str | None,
              status: int = 200) -> Response:
    return page.render("account_new.html", status=status, section="accounts", accounts=all_, account=None,
                       kinds=available_kinds(), values=values, error=error)
