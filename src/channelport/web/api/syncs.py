"""/syncs and /runs: start manual syncs in the background, then poll their runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from channelport.errors import NotFound
from channelport.services import journal, runs
from channelport.services.journal import Timeline
from channelport.web.api.common import AccountFilter, AccountName, Limit, RunId
from channelport.web.deps import RuntimeDep, SyncsDep
from channelport.web.schemas import (
    RunOut,
    SyncBatch,
    SyncRequest,
    TimelineBucket,
    TimelineFailure,
    TimelineOut,
)

router = APIRouter(tags=["sync"])

BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def run_out(row: object) -> RunOut:
    return RunOut.model_validate(runs.run_json(row))


def timeline_out(t: Timeline) -> TimelineOut:
    return TimelineOut(
        account=t.account, timezone=t.timezone, bucket=t.bucket, start=t.start, end=t.end, total=t.total,
        buckets=[TimelineBucket(start=b.start, count=b.count) for b in t.buckets],
        failed_runs=[TimelineFailure(run_id=f.id, started_at=f.started_at, error=f.error) for f in t.failed],
    )


@router.post(
    "/syncs",
    response_model=SyncBatch,
    status_code=202,
    summary="Manual sync of all active accounts, or of the named ones",
    description="Returns at once with each account's run id (null while queued); poll /runs/{id} or /syncs/{id}.",
)
def start(syncs: SyncsDep, body: SyncRequest | None = None) -> SyncBatch:
    return syncs.start(body.accounts if body else None)


@router.post("/accounts/{name}/sync", response_model=SyncBatch, status_code=202, summary="Sync one account now")
def start_one(syncs: SyncsDep, name: AccountName) -> SyncBatch:
    return syncs.start([name])


@router.get("/syncs/{batch_id}", response_model=SyncBatch, summary="Progress of a manual sync")
def batch(syncs: SyncsDep, batch_id: BatchId) -> SyncBatch:
    found = syncs.view(batch_id)
    if found is None:
        raise NotFound(f"no sync {batch_id} in this server's memory; the sync journal (/runs) has every run")
    return found


@router.get("/runs", response_model=list[RunOut], summary="The sync journal")
def list_runs(rt: RuntimeDep, account: AccountFilter = None, limit: Limit = 20) -> list[RunOut]:
    return [run_out(r) for r in runs.list_runs(rt, account=account, limit=limit)]


@router.get("/runs/{run_id}", response_model=RunOut, summary="One sync run: progress while running, then the result")
def get_run(rt: RuntimeDep, run_id: RunId) -> RunOut:
    return run_out(journal.get_run(rt, run_id))


@router.get("/accounts/{name}/timeline", response_model=TimelineOut, summary="Orders imported per day or hour")
def timeline(
    rt: RuntimeDep,
    name: AccountName,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    bucket: Annotated[str, Query(pattern="^(day|hour)$")] = "day",
) -> TimelineOut:
    return timeline_out(journal.import_timeline(rt, name, days=days, bucket=bucket))
