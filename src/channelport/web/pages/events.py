"""Received events by outcome: the ones that need a look (parked, rejected, unknown) first."""

from __future__ import annotations

from typing import Annotated

from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from channelport.services import accounts, runs
from channelport.services.retry import RETRYABLE, retry_events
from channelport.web.deps import CsrfChecked, PageDep, RuntimeDep
from channelport.web.pages.forms import FormError, text
from channelport.web.schemas import NO_NUL_PATTERN

router = APIRouter(include_in_schema=False)

OUTCOMES = ("parked", "rejected", "unknown", "invalid", "stale", "duplicate", "ignored", "applied")


@router.get("/events")
def event_list(
    page: PageDep,
    rt: RuntimeDep,
    outcome: Annotated[str, Query(pattern="^(parked|rejected|unknown|invalid|stale|duplicate|ignored|applied)$")]
    = "parked",
    account: Annotated[str, Query(max_length=100, pattern=NO_NUL_PATTERN)] = "",
) -> Response:
    return page.render(
        "events.html", section="events", outcome=outcome, outcomes=OUTCOMES, account=account, retryable=RETRYABLE,
        accounts=accounts.list_accounts(rt),
        counts=runs.event_counts(rt, account=account or None),
        rows=runs.list_events(rt, account=account or None, outcome=outcome, limit=200),
    )


@router.post("/events/retry", dependencies=[CsrfChecked])
async def retry(request: Request, page: PageDep, rt: RuntimeDep) -> Response:
    """Decide one account's events of one outcome again (after a fix, or once their order is there)."""
    form = await request.form()
    account, outcome = text(form, "account", limit=100), text(form, "outcome", limit=20)
    if outcome not in RETRYABLE:
        raise FormError("Only parked, rejected, unknown and ignored events can be decided again.")
    result = retry_events(rt, account=account, outcomes=[outcome])
    report = result.report
    applied = report.total("applied") if report else 0
    notice = page.t("{considered} events considered, {retried} decided again, {applied} of them applied.",
                    considered=str(result.considered), retried=str(result.considered - result.not_retryable),
                    applied=str(applied))
    kind = "error" if report is not None and report.status in ("failed", "busy") else "success"
    if kind == "error":
        notice += f" {report.error or ''}"
    return page.redirect(f"/events?{urlencode({'outcome': outcome, 'account': account})}", notice, kind=kind)
