""""Sync now": start a manual sync from the page, then watch it account by account.

The progress page is rendered complete on the server (so it is right even without
scripts, after a reload); the page's script polls `/sync/{id}/progress` and updates the
rows in place until every account is done.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import JSONResponse, Response

from channelport.errors import NotFound
from channelport.web.deps import CsrfChecked, PageDep, SyncsDep
from channelport.web.pages.accounts import Name
from channelport.web.schemas import SyncBatch

router = APIRouter(include_in_schema=False)

BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _found(batch: SyncBatch | None, batch_id: str) -> SyncBatch:
    if batch is None:
        raise NotFound(f"no sync {batch_id} here (the server was restarted?); the sync journal has every run")
    return batch


@router.post("/sync", dependencies=[CsrfChecked])
def sync_all(page: PageDep, syncs: SyncsDep) -> Response:
    return page.redirect(f"/sync/{syncs.start(None, wait=0.5).id}")


@router.post("/accounts/{name}/sync", dependencies=[CsrfChecked])
def sync_one(page: PageDep, syncs: SyncsDep, name: Name) -> Response:
    return page.redirect(f"/sync/{syncs.start([name], wait=0.5).id}")


@router.get("/sync/{batch_id}")
def progress_page(page: PageDep, syncs: SyncsDep, batch_id: BatchId) -> Response:
    return page.render("sync.html", section="accounts", batch=_found(syncs.view(batch_id), batch_id))


@router.get("/sync/{batch_id}/progress")
def progress(syncs: SyncsDep, batch_id: BatchId) -> Response:
    return JSONResponse(_found(syncs.view(batch_id), batch_id).model_dump(mode="json", by_alias=True))
