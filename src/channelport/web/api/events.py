"""/events: the received-events log by outcome (parked, rejected, unknown, ...)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from channelport.services import runs
from channelport.services.retry import RetryReport, retry_events
from channelport.web.api.common import AccountFilter, Limit
from channelport.web.deps import RuntimeDep
from channelport.web.schemas import Outcome, ReceivedEvent, RetryRequest, RetryResult

router = APIRouter(tags=["events"])


def event_out(row: Any) -> ReceivedEvent:
    return ReceivedEvent.model_validate(runs.event_json(row))


@router.get("/events", response_model=list[ReceivedEvent], summary="Received events, newest first")
def list_events(
    rt: RuntimeDep, outcome: Outcome | None = None, account: AccountFilter = None, limit: Limit = 50
) -> list[ReceivedEvent]:
    rows = runs.list_events(rt, account=account, outcome=outcome.value if outcome else None, limit=limit)
    return [event_out(r) for r in rows]


@router.get("/events/counts", response_model=dict[str, int], summary="How many events ended in each outcome")
def counts(rt: RuntimeDep, account: AccountFilter = None) -> dict[str, int]:
    return runs.event_counts(rt, account=account)


def retry_out(result: RetryReport) -> RetryResult:
    report = result.report
    return RetryResult(
        account=result.account, considered=result.considered, not_retryable=result.not_retryable,
        status=report.status if report else None, run_id=report.run_id if report else None,
        counts=report.counts if report else {}, error=report.error if report else None,
    )


@router.post(
    "/events/retry",
    response_model=RetryResult,
    summary="Decide recorded events again",
    description="Parked events from their stored form, rejected and unknown ones mapped again from their raw "
    "payload; journalled as a sync run with the trigger `retry`. Nothing is asked of the channel.",
)
def retry(rt: RuntimeDep, body: RetryRequest) -> RetryResult:
    return retry_out(retry_events(rt, account=body.account, outcomes=[o.value for o in body.outcomes]))
