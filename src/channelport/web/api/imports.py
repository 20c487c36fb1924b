"""/accounts/{name}/imports: the Import tab, read and replaced as a whole."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from channelport.connectors.base import EventImport
from channelport.domain.instants import UTC
from channelport.services import event_imports
from channelport.services.event_imports import ImportRow
from channelport.web.api.common import AccountName
from channelport.web.deps import RuntimeDep
from channelport.web.schemas import ImportRowIn, ImportRowOut

router = APIRouter(tags=["imports"])

FiveRows = Annotated[
    list[ImportRowIn],
    Body(min_length=5, max_length=5, description="each of the five event types exactly once"),
]


def rows_out(rows: list[ImportRow]) -> list[ImportRowOut]:
    return [
        ImportRowOut(event=r.event_type, enabled=r.enabled, from_=r.from_local, from_utc=r.from_utc, pending=r.pending)
        for r in rows
    ]


@router.get("/accounts/{name}/imports", response_model=list[ImportRowOut], summary="The Import tab")
def show(rt: RuntimeDep, name: AccountName) -> list[ImportRowOut]:
    return rows_out(event_imports.show_imports(rt, name))


@router.put(
    "/accounts/{name}/imports",
    response_model=list[ImportRowOut],
    summary="Replace all five rows",
    description="A new 'from' marks its row pending: the next sync requests the data again from then.",
)
def replace(rt: RuntimeDep, name: AccountName, body: FiveRows) -> list[ImportRowOut]:
    imports = [
        EventImport(row.event, row.enabled, row.from_.astimezone(UTC) if row.from_ is not None else None)
        for row in body
    ]
    return rows_out(event_imports.replace_imports(rt, name, imports))
