"""Saving the Import tab: five rows, each ticked or not, each with its "From" date and time.

"Use this date for all events" is done by the page's script without a round trip; this
route does the same when scripts are off. An error shows the tab again with what was
typed, so nothing has to be entered twice.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from channelport.errors import UsageError
from channelport.services import accounts, event_imports
from channelport.web.deps import CsrfChecked, PageDep, RuntimeDep
from channelport.web.pages.accounts import Name, account_url, import_tab
from channelport.web.pages.forms import imports_from_fields, posted_import_fields, text, with_date_for_all

router = APIRouter(include_in_schema=False)


@router.post("/accounts/{name}/import", dependencies=[CsrfChecked])
async def save(request: Request, page: PageDep, rt: RuntimeDep, name: Name) -> Response:
    form = await request.form()
    account = accounts.get_account(rt, name)
    fields = posted_import_fields(form)
    if text(form, "action") == "apply-all":
        fields = with_date_for_all(fields, text(form, "all-date", limit=20), text(form, "all-time", limit=20))
        return import_tab(page, rt, account, fields, prefilled=True)
    try:
        imports, ambiguous = imports_from_fields(fields, account.timezone)
        event_imports.replace_imports(rt, name, imports)
    except UsageError as exc:
        return import_tab(page, rt, account, fields, status=400, error=page.translated(exc))
    if ambiguous:
        page.session.notify("info", page.t(
            "A time you entered occurs twice in {tz} (the clocks go back then); the earlier one was taken.",
            tz=account.timezone))
    return page.redirect(account_url(name, "import"), page.t("Saved. The data will be imported at the next sync."))
