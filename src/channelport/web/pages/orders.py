"""Imported orders: a filtered list, and one order with everything that happened to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from channelport.domain.events import ORDER_STATUSES
from channelport.domain.instants import parse_instant
from channelport.services import accounts, orders
from channelport.web.deps import PageDep, RuntimeDep
from channelport.web.pages.accounts import Name
from channelport.web.pages.forms import local_day_start, parse_day
from channelport.web.pages.rendering import DISPLAY_TZ
from channelport.web.schemas import NO_NUL_PATTERN

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=100, pattern=NO_NUL_PATTERN)]


@router.get("/orders")
def order_list(
    page: PageDep,
    rt: RuntimeDep,
    account: Text = "",
    status: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    all_accounts = accounts.list_accounts(rt)
    tz = next((a.timezone for a in all_accounts if a.name == account), DISPLAY_TZ)
    since = local_day_start(from_, tz, "from date")
    until = local_day_start(_next_day(to), tz, "to date") if to else None
    rows = orders.list_orders(rt, account=account or None, status=status or None, since=since, until=until,
                              limit=PAGE_SIZE + 1, offset=(page_no - 1) * PAGE_SIZE)
    return page.render(
        "orders.html", section="orders", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page_no=page_no,
        accounts=all_accounts, statuses=sorted(ORDER_STATUSES), tz=tz,
        filters={"account": account, "status": status, "from": from_, "to": to},
    )


@router.get("/orders/{name}/{order_id:path}")
def order_detail(
    page: PageDep, rt: RuntimeDep, name: Name, order_id: Annotated[str, Path(min_length=1, max_length=150, pattern=NO_NUL_PATTERN)]
) -> Response:
    detail = orders.show_order(rt, account=name, order_id=order_id)
    return page.render("order.html", section="orders", detail=detail, order=detail.export,
                       purchased_at=parse_instant(detail.export["purchasedAt"]))


def _next_day(value: str) -> str:
    """The filter's "to" date includes its whole day."""
    return (parse_day(value, "to date") + timedelta(days=1)).isoformat()
