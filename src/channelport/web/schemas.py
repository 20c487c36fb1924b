"""The REST API's request and response bodies (Pydantic 2), and so its OpenAPI document.

Field names are camelCase on the wire, as in the Channel Event API and the export
format, so one vocabulary serves every JSON Channelport speaks. Every route declares
its response model, so the OpenAPI document describes every answer, errors included.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from channelport.domain.events import EventType

ACCOUNT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
NO_NUL_PATTERN = r"^[^\x00]*$"  # for free text in paths and queries: PostgreSQL text cannot hold NUL
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_ID = 2**31 - 1


class ApiModel(BaseModel):
    """An answer: fields a newer service adds are left out rather than breaking the route."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ApiInput(ApiModel):
    """A request body: unknown fields are refused, so a typo never goes unnoticed."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL text cannot hold NUL; refuse it here rather than fail in the store."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


class Problem(ApiModel):
    """RFC 9457 problem details: `detail` says what to do."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None


class Health(ApiModel):
    status: str = "ok"


# --- accounts ---------------------------------------------------------------------------


class AccountOut(ApiModel):
    name: str
    kind: str
    url: str
    seller_id: str
    timezone: str
    active: bool
    locked: bool
    lock_reason: str | None
    status: str = Field(description="active, inactive, locked or credentials rejected")
    credentials_rejected: str | None = Field(description="the channel's words when it refused the credentials")
    last_sync_at: datetime | None
    last_sync_status: str | None
    last_success_at: datetime | None
    settings: dict[str, Any]


SettingValue = str | int | float | bool


class AccountCreate(ApiInput):
    name: str = Field(pattern=ACCOUNT_NAME_PATTERN)
    kind: str = Field(min_length=1, max_length=50)
    url: str = Field(min_length=1, max_length=500)
    seller_id: str = Field(min_length=1, max_length=150)
    token: str = Field(min_length=1, max_length=4000, description="the channel's API token; never shown again")
    timezone: str = Field("Europe/Berlin", min_length=1, max_length=64)
    settings: dict[str, SettingValue] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="further secrets of the kind; stored encrypted")


class AccountEdit(ApiInput):
    url: str | None = Field(None, min_length=1, max_length=500)
    seller_id: str | None = Field(None, min_length=1, max_length=150)
    token: str | None = Field(None, min_length=1, max_length=4000)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    settings: dict[str, SettingValue] | None = None
    secrets: dict[str, str] | None = None


class LockRequest(ApiInput):
    reason: str = Field(min_length=1, max_length=500)


class Removed(ApiModel):
    name: str
    orders_deleted: int


# --- the Import tab -------------------------------------------------------------------


class ImportRowOut(ApiModel):
    event: EventType
    enabled: bool
    from_: datetime | None = Field(alias="from", description="'import from' in the account's local time")
    from_utc: datetime | None
    pending: bool = Field(description="requested, not yet delivered to the channel")


class ImportRowIn(ApiInput):
    event: EventType
    enabled: bool
    from_: AwareDatetime | None = Field(
        None, alias="from", ge=EARLIEST, description="an instant with its offset; null for no request"
    )


# --- syncs and the journal ----------------------------------------------------------------


class SyncState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"
    busy = "busy"
    interrupted = "interrupted"


class SyncRequest(ApiInput):
    accounts: list[str] | None = Field(None, description="accounts to sync; all when absent (locked ones are skipped)")


class SyncEntry(ApiModel):
    account: str
    status: SyncState
    run_id: int | None = Field(description="the sync run to poll; null while queued or when skipped")
    events: int
    counts: dict[str, dict[str, int]]
    error: str | None


class SyncBatch(ApiModel):
    id: str
    done: bool
    accounts: list[SyncEntry]


class RunOut(ApiModel):
    id: int
    account: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    events: int
    counts: dict[str, dict[str, int]]
    error: str | None


class TimelineBucket(ApiModel):
    start: datetime
    count: int


class TimelineFailure(ApiModel):
    run_id: int
    started_at: datetime
    error: str | None


class TimelineOut(ApiModel):
    account: str
    timezone: str
    bucket: str
    start: datetime
    end: datetime
    total: int
    buckets: list[TimelineBucket]
    failed_runs: list[TimelineFailure]


# --- orders ------------------------------------------------------------------------------


class OrderRow(ApiModel):
    account: str
    order_id: str
    status: str
    purchased_at: datetime
    currency: str
    payment_method: str | None
    imported_at: datetime


class Address(ApiModel):
    first_name: str | None
    last_name: str | None
    street: str | None
    house_number: str | None
    postcode: str | None
    city: str | None
    country: str | None
    phone: str | None
    company_name: str | None


class Buyer(ApiModel):
    email: str | None
    vat_id: str | None


class OrderItem(ApiModel):
    order_item_id: str
    type: str
    sku: str | None
    quantity: str
    cancelled_quantity: str
    gross_price: str
    total: str
    tax_percent: str
    item_status: str
    item_payment_status: str


class Cancellation(ApiModel):
    order_cancellation_request_id: str
    state: str
    cancel_reason: str | None
    reason: str | None


class HistoryEntry(ApiModel):
    at: datetime
    event: str
    event_id: str
    part: str
    before: Any = None
    after: Any = None


class OrderDetailOut(ApiModel):
    account: str
    order_id: str
    order_status: str
    currency: str
    purchased_at: datetime
    payment_method: str | None
    buyer: Buyer | None
    billing_address: Address | None
    shipping_address: Address | None
    order_item: list[OrderItem]
    cancellation_requests: list[Cancellation]
    imported_at: datetime
    history: list[HistoryEntry]


# --- received events, workers, edition -------------------------------------------------------


class Outcome(StrEnum):
    applied = "applied"
    duplicate = "duplicate"
    stale = "stale"
    parked = "parked"
    rejected = "rejected"
    ignored = "ignored"
    unknown = "unknown"
    invalid = "invalid"


class ReceivedEvent(ApiModel):
    account: str
    event_id: str
    type: str
    order_id: str | None
    created_at: datetime | None
    received_at: datetime
    outcome: str
    reason: str | None
    raw: str


class RetryableOutcome(StrEnum):
    parked = "parked"
    rejected = "rejected"
    unknown = "unknown"
    ignored = "ignored"


class RetryRequest(ApiInput):
    account: str = Field(pattern=ACCOUNT_NAME_PATTERN)
    outcomes: list[RetryableOutcome] = Field(
        default_factory=lambda: list(RetryableOutcome), min_length=1, max_length=4,
        description="which recorded outcomes to decide again; all four when absent",
    )


class RetryResult(ApiModel):
    account: str
    considered: int = Field(description="events with the chosen outcomes")
    not_retryable: int = Field(description="of those, events the connector cannot map again")
    status: str | None = Field(description="the retry run's result; null when nothing could be retried")
    run_id: int | None
    counts: dict[str, dict[str, int]]
    error: str | None


class WorkerOut(ApiModel):
    id: str
    host: str
    pid: int
    state: str = Field(description="running, stale, stopping or stopped")
    alive: bool
    heartbeat_at: datetime
    doing: str | None


class EditionOut(ApiModel):
    packages: list[str]
    known: dict[str, str]


class EditionIn(ApiInput):
    packages: list[Annotated[str, Field(pattern=r"^[a-z]{1,30}$")]] = Field(
        max_length=10, description="booked packages, none for an empty list; order import needs `orders`"
    )
