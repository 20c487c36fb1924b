"""/orders: imported orders, filtered, and one order with everything that happened to it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from channelport.services import orders
from channelport.services.orders import OrderDetail
from channelport.web.api.common import AccountFilter, AccountName, Limit
from channelport.web.deps import RuntimeDep
from channelport.web.schemas import EARLIEST, NO_NUL_PATTERN, OrderDetailOut, OrderRow

router = APIRouter(tags=["orders"])

Instant = Annotated[AwareDatetime | None, Query(ge=EARLIEST, description="RFC 3339 with offset; purchase time")]


def order_row(row: Any) -> OrderRow:
    return OrderRow(
        account=row.account, order_id=row.order_id, status=row.shown_status, purchased_at=row.purchased_at,
        currency=row.currency, payment_method=row.payment_method, imported_at=row.imported_at,
    )


def order_detail(detail: OrderDetail) -> OrderDetailOut:
    return OrderDetailOut.model_validate(
        {**detail.export, "importedAt": detail.imported_at, "history": detail.history}
    )


@router.get("/orders", response_model=list[OrderRow], summary="Imported orders, newest purchase first")
def list_orders(
    rt: RuntimeDep,
    account: AccountFilter = None,
    status: Annotated[str | None, Query(max_length=30, pattern=r"^[A-Z_]+$")] = None,
    since: Instant = None,
    until: Instant = None,
    limit: Limit = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[OrderRow]:
    rows = orders.list_orders(rt, account=account, status=status, since=since, until=until, limit=limit,
                              offset=offset)
    return [order_row(r) for r in rows]


@router.get(
    "/accounts/{name}/orders/{order_id}",
    response_model=OrderDetailOut,
    summary="One order with items, addresses, cancellations and its history",
)
def get_order(
    rt: RuntimeDep, name: AccountName, order_id: Annotated[str, Path(min_length=1, max_length=150, pattern=NO_NUL_PATTERN)]
) -> OrderDetailOut:
    return order_detail(orders.show_order(rt, account=name, order_id=order_id))
