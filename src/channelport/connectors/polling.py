"""The shared base of polling channels: a cursor, a rate-limited HTTP client, a loop guard.

Polling channels (Amazon SP-API Orders, WooCommerce) only list "orders updated between
A and B", each order in its current state. This module turns such a listing into the
`Connector` protocol; a channel module supplies a `Listing` (how to fetch one page and
how to turn one listed order into an `OrderSeen` snapshot) and nothing else.

The cursor (`CursorState`, stored by the engine as the connector state):

- `cursor` is where the next listing starts. `subscribe` sets it back to the earliest
  pending "import from" of the enabled event types (an order listing has no per-type
  feed: a snapshot carries everything, and the engine ignores derived events of types
  that are not enabled). Without any request it starts at the earliest "import from",
  or now.
- A listing in progress is a `Scan`: a fixed window `[after, before]` and the channel's
  position of the next page. `before` lies `settle_seconds` behind the channel's clock
  (Amazon refuses anything later than two minutes ago; everywhere it gives writes time
  to become visible). Every batch carries the state as it is once the batch is
  committed, so the cursor moves only with committed data, and only when the listing
  is complete up to `before` does it move, to `before - overlap_seconds`. The overlap
  reads the last minutes again on the next sync, against late writes and clock skew;
  reading an order again is harmless, because snapshots are compared with the stored
  order (`domain.snapshots`) and derived event ids are deterministic.
- One scan reaching up to "now" per sync: after it, `pull` returns an empty batch. A
  scan left unfinished (a failed or stopped sync) is resumed at the page it was on.

The loop guard: a page position visited before in the same scan, or
`MAX_IDLE_PAGES` pages in a row without one order not listed before in that scan,
stop the sync with a `ProtocolError` instead of looping forever on a broken paginator.

The HTTP side (`ChannelHttp`) sorts answers like the event-api client does (it reuses
its verdict types and transport-failure classification), and adds what polling APIs
need: a token bucket per operation from the channel's published limits, adjusted from
the channel's rate-limit headers; 429 backoff that honours `Retry-After` or the bucket's
rate; one credential refresh on 401/403 (an expired access token); and an estimate of
the channel's clock from its `Date` headers.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channelport import __version__ as _version
from channelport.connectors.base import AccountConfig, Batch, EventImport, Received
from channelport.connectors.content import lenient_loads
from channelport.connectors.event_api_client import (
    backoff_wait,
    NEVER_RETRIED_5XX,
    Answer,
    Fatal,
    Ok,
    Retry,
    classify_failure,
    retry_after,
)
from channelport.domain.instants import UTC, format_instant, parse_instant
from channelport.errors import ChannelUnavailable, ConnectorError, CredentialsRejected, ProtocolError, UsageError

log = logging.getLogger(__name__)

T = TypeVar("T")

STATE_VERSION = 1
MAX_IDLE_PAGES = 3  # pages in a row that list no order not seen before in the scan
FIRST_WAIT = 0.5  # seconds before the first retry of a fault without a server wait; doubles
MIN_WAIT = 0.05


# --------------------------------------------------------------------------- settings


class PollingSettings(BaseModel):
    """Settings every polling kind has (seconds); a kind adds its own and its defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    overlap_seconds: float = Field(
        600.0, ge=0, description="how far back each listing re-reads, against late writes and clock skew"
    )
    settle_seconds: float = Field(60.0, ge=0, description="how far behind the channel's clock a listing ends")
    page_size: int = Field(100, ge=1, le=100, description="orders per listed page (the channels allow 100)")
    timeout: float = Field(30.0, gt=0, description="read timeout: longest wait for the channel's answer")
    connect_timeout: float = Field(5.0, gt=0, description="longest wait to open a connection")
    retry_deadline: float = Field(
        300.0, ge=0, description="how long to keep retrying transient faults (429, 5xx, timeouts) before giving up"
    )
    max_retry_wait: float = Field(60.0, gt=0, description="longest single wait between two retries")


def validate_settings(model: type[BaseModel], settings: Mapping[str, Any], kind: str) -> Any:
    """The kind's settings model from an account's stored settings, or a UsageError."""
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(step) for step in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise UsageError(f"invalid {kind} settings: {problems}") from None


def require_http_url(url: str, kind: str, expected: str) -> None:
    """Refuse an account URL that is not http(s), saying what `expected` looks like."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the {kind} URL must be {expected}; got {url!r}")


def require_secret(config: AccountConfig, name: str, kind: str, what: str) -> str:
    """The account's secret `name`, or a UsageError that says how to add it."""
    secret = config.secrets.get(name)
    if not secret:
        raise UsageError(f"the {kind} account has no {what}: add it with `account edit NAME --secret {name}=ENVVAR`")
    return secret


# --------------------------------------------------------------------------- cursor


@dataclass(frozen=True, slots=True)
class Scan:
    """One listing in progress: the window and the channel's position of the next page.

    `position` is whatever the channel pages by (a NextToken, a page number); None is
    the first page. It is JSON, because it is stored with every batch.
    """

    after: datetime
    before: datetime
    position: Mapping[str, Any] | None = None

    def restarted(self) -> Scan:
        return Scan(self.after, self.before, None)


@dataclass(frozen=True, slots=True)
class CursorState:
    """The connector state of a polling account (see the module docstring)."""

    cursor: datetime | None = None
    scan: Scan | None = None
    paused: bool = False  # no event type enabled: nothing is listed

    def to_json(self) -> dict[str, Any]:
        scan = None
        if self.scan is not None:
            scan = {
                "after": format_instant(self.scan.after),
                "before": format_instant(self.scan.before),
                "position": dict(self.scan.position) if self.scan.position is not None else None,
            }
        return {
            "version": STATE_VERSION,
            "cursor": format_instant(self.cursor) if self.cursor is not None else None,
            "scan": scan,
            "paused": self.paused,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CursorState:
        """Raises ValueError when the stored state is not one this code wrote."""
        if not data:
            return cls()
        if not isinstance(data, Mapping) or data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown state version {data.get('version') if isinstance(data, Mapping) else data!r}")
        cursor = data.get("cursor")
        scan_data = data.get("scan")
        scan = None
        if scan_data is not None:
            position = scan_data.get("position")
            if position is not None and not isinstance(position, Mapping):
                raise ValueError("scan.position must be an object")
            scan = Scan(parse_instant(scan_data["after"]), parse_instant(scan_data["before"]), position)
        return cls(
            cursor=parse_instant(cursor) if cursor is not None else None,
            scan=scan,
            paused=bool(data.get("paused", False)),
        )


def subscribed(state: CursorState, imports: Sequence[EventImport], now: datetime) -> CursorState:
    """The state after the Import tab was handed over (pure: the connector's `subscribe`).

    A pending "import from" sets the cursor back, never forward: everything after the
    current cursor is listed anyway. A scan in progress that starts later than the
    request is dropped, so the next pull lists from the requested instant.
    """
    enabled = [row for row in imports if row.enabled]
    if not enabled:
        return replace(state, paused=True)
    state = replace(state, paused=False)
    requested = [row.import_from for row in enabled if row.pending and row.import_from is not None]
    if requested:
        target = min(requested)
        cursor = target if state.cursor is None else min(state.cursor, target)
        scan = state.scan if state.scan is not None and state.scan.after <= target else None
        return replace(state, cursor=cursor, scan=scan)
    if state.cursor is None and state.scan is None:
        known = [row.import_from for row in enabled if row.import_from is not None]
        return replace(state, cursor=min(known) if known else now)
    return state


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class Page:
    """One listed page: the channel's order records and the position of the next page.

    `next` None: the listing is complete up to the scan's `before`. `rereading`: the
    channel module found its position shifted and lists part of the window again on
    purpose, so orders listed before are expected there, not a sign of a looping paginator.
    """

    records: tuple[Any, ...]
    next: Mapping[str, Any] | None
    rereading: bool = False


@dataclass(frozen=True, slots=True)
class RecordKey:
    """What identifies one listed version of an order: its id and last-update instant."""

    order_id: str
    updated_at: datetime


class Listing(Protocol):
    """What a polling channel module supplies."""

    batch_size: int  # most snapshots per batch (each may cost further requests)

    def fetch(self, scan: Scan) -> Page: ...

    def key(self, record: Any) -> RecordKey | None: ...  # None: malformed, `snapshot` says why

    def snapshot(self, record: Any) -> Received | None: ...  # None: not to be imported (yet)

    def restartable(self, error: ConnectorError) -> bool: ...  # a resumed position the channel refused?

    def channel_now(self) -> datetime | None: ...  # the channel's clock, where known

    def close(self) -> None: ...


class PollingConnector:
    """The `Connector` protocol over a `Listing`. Not thread-safe: one sync at a time."""

    def __init__(
        self,
        listing: Listing,
        settings: PollingSettings,
        state: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.listing = listing
        self.settings = settings
        self._clock = clock
        self._broken: str | None = None
        try:
            self._state = CursorState.from_json(state)
        except (ValueError, KeyError, TypeError) as exc:
            self._state = CursorState()
            self._broken = f"the stored connector state is unreadable ({exc})"
        self._caught_up = False  # one scan up to "now" per sync
        # The page being handed out in chunks, and what the state is once it is done.
        self._records: list[Any] = []
        self._state_after_page: CursorState | None = None
        # The loop guard of the scan in progress (in memory: a resumed scan starts afresh).
        self._positions: set[str] = set()
        self._listed: set[tuple[str, datetime]] = set()
        self._emitted: set[tuple[str, datetime]] = set()
        self._idle_pages = 0
        self._resumed = self._state.scan is not None and self._state.scan.position is not None

    # --- the Connector protocol -------------------------------------------------------

    def subscribe(self, imports: Sequence[EventImport]) -> None:
        """Set the cursor from the Import tab; the engine stores `state()` right after."""
        before = self._state
        self._state = subscribed(self._state, imports, self._clock())
        if self._state.scan is not before.scan or self._state.cursor != before.cursor:
            self._reset_page()
        self._broken = None  # a request replaces an unreadable state

    def state(self) -> dict[str, Any]:
        return self._state.to_json()

    def pull(self, limit: int) -> Batch:
        """The next snapshots (one page, or part of one); empty when caught up."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if self._broken:
            raise ProtocolError(f"{self._broken}; request the imports again from a date to start afresh")
        while True:
            if self._records:
                batch = self._next_chunk(min(limit, self.listing.batch_size))
                if batch is not None:
                    return batch
                continue
            if self._state.paused or (self._state.cursor is None and self._state.scan is None):
                return Batch()
            if self._state.scan is None and not self._start_scan():
                return Batch()
            self._fetch_page()

    def ack(self, batch: Batch) -> None:
        """Nothing to acknowledge: the cursor moved with the batch's commit."""

    def close(self) -> None:
        self.listing.close()

    def __enter__(self) -> PollingConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- scans and pages ----------------------------------------------------------------

    def _start_scan(self) -> bool:
        """A new window from the cursor up to the settled present; False when caught up."""
        if self._caught_up:
            return False
        assert self._state.cursor is not None
        before = (self.now() - timedelta(seconds=self.settings.settle_seconds)).replace(microsecond=0)
        after = self._state.cursor
        self._caught_up = True
        if before <= after:
            return False
        self._state = replace(self._state, scan=Scan(after, before))
        self._reset_page()
        return True

    def _fetch_page(self) -> None:
        scan = self._state.scan
        assert scan is not None
        try:
            page = self.listing.fetch(scan)
        except ConnectorError as exc:
            if not (self._resumed and scan.position is not None and self.listing.restartable(exc)):
                raise
            # A position stored by an earlier sync the channel no longer takes (an expired
            # NextToken): list the window again from its first page; re-reading is harmless.
            log.warning("resumed page position refused (%s); listing the window again from its start", exc)
            self._resumed = False
            self._state = replace(self._state, scan=scan.restarted())
            return
        self._resumed = False
        self._guard(scan, page)
        if page.next is None:
            cursor = max(scan.after, scan.before - timedelta(seconds=self.settings.overlap_seconds))
            after_page = replace(self._state, cursor=cursor, scan=None)
        else:
            after_page = replace(self._state, scan=replace(scan, position=dict(page.next)))
        self._records = list(page.records)
        self._state_after_page = after_page
        if not self._records:
            self._state = after_page  # nothing to commit with it; moves on in memory only

    def _next_chunk(self, size: int) -> Batch | None:
        """Up to `size` new snapshots off the current page, with the state once committed.

        While records of the page are left, the state keeps the page's own position: a
        sync that ends here reads the page again, which is harmless. A version of an
        order handed out before in this scan (a keyset page starts with the second the
        page before ended in) is not handed out again.
        """
        chunk = self._records[:size]
        items = []
        handed: list[tuple[str, datetime]] = []
        for record in _latest_per_order(chunk, self.listing):
            key = self.listing.key(record)
            if key is not None:
                marker = (key.order_id, key.updated_at)
                if marker in self._emitted:
                    continue
                handed.append(marker)
            item = self.listing.snapshot(record)  # may call the channel, and fail: then nothing moved
            if item is not None:
                items.append(item)
        self._emitted.update(handed)
        self._records = self._records[size:]
        if not self._records:
            assert self._state_after_page is not None
            self._state = self._state_after_page
        if not items:
            return None
        return Batch(items=tuple(items), state=self._state.to_json())

    def _guard(self, scan: Scan, page: Page) -> None:
        """Stop a paginator that goes round in circles or keeps returning the same orders."""
        here = _canonical(scan.position)
        self._positions.add(here)
        if page.next is not None and _canonical(page.next) in self._positions:
            raise ProtocolError(
                f"the channel's paginator returned a page position it had returned before ({_canonical(page.next)}); "
                "stopping this sync instead of reading the same pages forever. The cursor stays where the last "
                "committed page left it."
            )
        new = 0
        for record in page.records:
            key = self.listing.key(record)
            if key is None:
                new += 1
                continue
            marker = (key.order_id, key.updated_at)
            if marker not in self._listed:
                self._listed.add(marker)
                new += 1
        if page.next is None:
            return
        self._idle_pages = 0 if new or page.rereading else self._idle_pages + 1
        if self._idle_pages >= MAX_IDLE_PAGES:
            raise ProtocolError(
                f"the channel returned {MAX_IDLE_PAGES} pages in a row without an order not listed before; "
                "its paginator seems to return the same page forever, so this sync stops. The cursor stays "
                "where the last committed page left it."
            )

    def _reset_page(self) -> None:
        self._records = []
        self._state_after_page = None
        self._positions = set()
        self._listed = set()
        self._emitted = set()
        self._idle_pages = 0

    def now(self) -> datetime:
        """The earlier of our clock and the channel's: a window never ends in its future."""
        ours = self._clock()
        theirs = self.listing.channel_now()
        return ours if theirs is None else min(ours, theirs)


def _latest_per_order(records: Iterable[Any], listing: Listing) -> list[Any]:
    """One record per order in a batch, its latest version: the engine compares each
    snapshot with the order as stored before the batch, so two of one order in one batch
    would both look new."""
    latest: dict[str, tuple[int, datetime]] = {}
    keyed: list[tuple[Any, RecordKey | None]] = [(record, listing.key(record)) for record in records]
    for index, (_record, key) in enumerate(keyed):
        if key is None:
            continue
        known = latest.get(key.order_id)
        if known is None or key.updated_at >= known[1]:
            latest[key.order_id] = (index, key.updated_at)
    keep = {index for index, _at in latest.values()}
    return [record for index, (record, key) in enumerate(keyed) if key is None or index in keep]


def _canonical(position: Mapping[str, Any] | None) -> str:
    return json.dumps(position, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True, slots=True)
class Limit:
    """A usage plan: `rate` requests per second sustained, `burst` at once."""

    rate: float
    burst: float


class TokenBucket:
    """A token bucket; `reserve` takes a token and says how long to wait for it."""

    def __init__(self, limit: Limit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.rate = limit.rate
        self.burst = max(1.0, limit.burst)
        self._tokens = self.burst
        self._stamp = monotonic()

    def reserve(self) -> float:
        """Seconds to wait before sending; the token is taken now (a debt when negative)."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def set_rate(self, rate: float) -> None:
        """The channel told us its current rate for this operation (requests per second)."""
        if not (0 < rate < float("inf")):
            return
        with self._lock:
            self._refill()
            self.rate = rate

    def drain(self, wait: float | None = None) -> float:
        """A 429: the channel's bucket is empty, so is ours; returns the wait before the retry.

        `wait` is the channel's own (`Retry-After`): the bucket then holds exactly one
        token when it is over, so the retry goes at once. Without it, the wait is the
        time the bucket needs for one token at the operation's rate.
        """
        with self._lock:
            self._refill()
            if wait is not None:
                self._tokens = min(self._tokens, 1 - wait * self.rate)
                return wait
            self._tokens = min(self._tokens, 0.0)
            return (1 - self._tokens) / self.rate

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now


class RateLimiter:
    """One bucket per operation, from the channel's published usage plans."""

    def __init__(
        self, limits: Mapping[str, Limit], default: Limit, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = dict(limits)
        self._default = default
        self._monotonic = monotonic
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, operation: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = TokenBucket(self._limits.get(operation, self._default), self._monotonic)
                self._buckets[operation] = bucket
            return bucket


_SHARED_LIMITERS: dict[tuple[str, ...], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(key: tuple[str, ...], make: Callable[[], RateLimiter]) -> RateLimiter:
    """The limiter of one channel account in this process, kept across syncs.

    A channel's buckets belong to the seller, not to one sync: a worker that syncs an
    account every minute must not start each sync with a full burst the channel has
    already spent.
    """
    with _SHARED_LOCK:
        limiter = _SHARED_LIMITERS.get(key)
        if limiter is None:
            limiter = _SHARED_LIMITERS[key] = make()
        return limiter


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout: float = 30.0
    connect_timeout: float = 5.0
    retry_deadline: float = 300.0
    max_retry_wait: float = 60.0

    @classmethod
    def of(cls, settings: PollingSettings) -> HttpSettings:
        return cls(settings.timeout, settings.connect_timeout, settings.retry_deadline, settings.max_retry_wait)


@dataclass(frozen=True, slots=True)
class Unauthorized:
    """401/403: fatal, unless a credential refresh may help once."""

    error: CredentialsRejected


@dataclass
class ChannelRules:
    """What a channel module tells `ChannelHttp` about its wire."""

    name: str  # "Amazon SP-API", "WooCommerce"
    credentials_hint: str  # what to do when the credentials are rejected
    describe_error: Callable[[bytes], str | None] = lambda body: None
    rate_from_headers: Callable[[httpx.Headers], float | None] = lambda headers: None
    headers: Callable[[], Mapping[str, str]] = dict  # per attempt (an access token may change)
    refresh_credentials: Callable[[], None] | None = None  # an expired access token: get a new one


class ChannelHttp:
    """A blocking client for one polling channel account: one call = one bounded loop.

    `sleep`, `monotonic` and `uniform` are injectable so a test can run an outage in no
    time. Pacing waits from the token bucket are not faults and do not count against
    the retry deadline; retry waits do.
    """

    def __init__(
        self,
        base_url: str,
        rules: ChannelRules,
        limiter: RateLimiter,
        settings: HttpSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.rules = rules
        self.limiter = limiter
        self._sleep = sleep
        self._monotonic = monotonic
        self._uniform = uniform
        self._server_clock: tuple[datetime, float] | None = None
        try:
            self._http = httpx.Client(
                base_url=base_url,
                headers={"Accept": "application/json", "User-Agent": f"channelport/{_version} (Language=Python)"},
                timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout),
                transport=transport,
                follow_redirects=False,
            )
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise ProtocolError(f"cannot set up a connection to {base_url!r}: {exc}") from None

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def close(self) -> None:
        self._http.close()

    def server_now(self) -> datetime | None:
        """The channel's clock as its last `Date` header showed it, moved on by our monotonic clock."""
        if self._server_clock is None:
            return None
        stamp, at = self._server_clock
        return stamp + timedelta(seconds=max(0.0, self._monotonic() - at))

    def call(
        self,
        operation: str,
        method: str,
        url: str,
        parse: Callable[[Answer], T],
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        authenticated: bool = True,
        clock: bool = True,
        credential_statuses: frozenset[int] = frozenset({401, 403}),
    ) -> T:
        """Send until the answer is ok or fatal, or the retry deadline is spent.

        Only reads and the idempotent token refresh come through here, so a request that
        may or may not have reached the server is simply sent again. `parse` raises
        ValueError for a body that is not JSON (taken for a truncated answer: retried)
        and ProtocolError for one of the wrong shape (fatal). `credential_statuses` are
        the answers that mean "credentials rejected" (a token endpoint says so with 400).
        `headers` may be a function, asked again for every attempt (a token that a
        credential refresh replaced).
        """
        what = f"{self.rules.name} {operation}"
        started = self._monotonic()
        attempts = 0
        paced = 0.0
        refreshed = False
        bucket = self.limiter.bucket(operation)
        while True:
            attempts += 1
            pacing = bucket.reserve()
            if pacing > 0:
                self._sleep(pacing)
                paced += pacing
            extra = headers() if callable(headers) else headers
            sent_headers = {**(self.rules.headers() if authenticated else {}), **(extra or {})}
            verdict = self._attempt(
                method, url, params, data, json, sent_headers, parse, what, bucket, clock, credential_statuses
            )
            if isinstance(verdict, Ok):
                return verdict.value
            if isinstance(verdict, Unauthorized):
                if authenticated and not refreshed and self.rules.refresh_credentials is not None:
                    refreshed = True
                    self.rules.refresh_credentials()
                    continue
                raise verdict.error
            if isinstance(verdict, Fatal):
                raise verdict.error
            elapsed = self._monotonic() - started - paced
            wait = self._wait(attempts, verdict.wait)
            if elapsed + wait > self.settings.retry_deadline:
                raise ChannelUnavailable(
                    f"{self.rules.name} at {self._http.base_url} is unavailable: {operation} failed {attempts} "
                    f"time{'s' if attempts != 1 else ''} over {elapsed:.0f} s (retry deadline "
                    f"{self.settings.retry_deadline:g} s); last: {verdict.reason.rstrip('.')}. Nothing is lost: the next sync "
                    "continues from the last committed page."
                )
            self._sleep(wait)

    def _wait(self, attempts: int, server_wait: float | None) -> float:
        return backoff_wait(attempts, server_wait, cap=self.settings.max_retry_wait, first=FIRST_WAIT,
                            floor=MIN_WAIT, uniform=self._uniform)

    def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str],
        parse: Callable[[Answer], T],
        what: str,
        bucket: TokenBucket,
        clock: bool,
        credential_statuses: frozenset[int],
    ) -> Ok[T] | Retry | Fatal | Unauthorized:
        try:
            answer = self._send(method, url, params, data, body, headers)
        except httpx.HTTPError as exc:
            return classify_failure(exc)
        except _AnswerTooSlow as exc:
            return Retry(str(exc))
        except (httpx.InvalidURL, httpx.StreamError) as exc:
            return Fatal(ProtocolError(f"could not send {what}: {exc}"))
        if clock:
            self._note_clock(answer.headers)
        rate = self.rules.rate_from_headers(answer.headers)
        if rate is not None:
            bucket.set_rate(rate)
        verdict = self._classify(answer, parse, what, credential_statuses)
        if isinstance(verdict, Retry) and answer.status == 429:
            cap = self.settings.max_retry_wait
            server_wait = None if verdict.wait is None else min(max(verdict.wait, MIN_WAIT), cap)
            return Retry(verdict.reason, min(bucket.drain(server_wait), cap))
        return verdict

    def _classify(
        self, answer: Answer, parse: Callable[[Answer], T], what: str, credential_statuses: frozenset[int]
    ) -> Ok[T] | Retry | Fatal | Unauthorized:
        """Sort one answer (the event-api client's rules, with the channel's error texts).

        - 2xx whose body parses: ok; not JSON: retry (truncated); the wrong shape: fatal.
        - 429: retry after `Retry-After`, else after the bucket's time for one token.
        - 408 and 5xx (but 501, 505): retry.
        - 401, 403 (or the call's `credential_statuses`): the credentials were rejected
          (after one refresh, where there is one).
        - anything else: `ProtocolError` with the channel's message.
        """
        status = answer.status
        says = self._server_says(answer.body)
        if 200 <= status < 300:
            try:
                return Ok(parse(answer))
            except ProtocolError as exc:
                return Fatal(ProtocolError(f"{what} answered HTTP {status} with a body of the wrong shape: {exc}"))
            except ValueError as exc:
                return Retry(f"HTTP {status} with an unusable body (truncated?): {clip(str(exc), 200)}")
        if status == 429:
            return Retry(f"HTTP 429 {_phrase(status)}{says}", wait=retry_after(answer.headers))
        if status == 408 or (500 <= status < 600 and status not in NEVER_RETRIED_5XX):
            return Retry(f"HTTP {status} {_phrase(status)}{says}")
        if status in credential_statuses:
            return Unauthorized(
                CredentialsRejected(
                    f"{self.rules.name} rejected the credentials (HTTP {status} {_phrase(status)}) on {what}{says}. "
                    f"{self.rules.credentials_hint} This account is not synced until then."
                )
            )
        return Fatal(RequestRefused(f"{what} answered HTTP {status} {_phrase(status)}{says}", status))

    def _server_says(self, body: bytes) -> str:
        message = self.rules.describe_error(body)
        if message:
            return f": {clip(message, 300)}"
        text = body[:200].decode("utf-8", errors="replace").strip()
        return f" (body: {clip(' '.join(text.split()), 120)})" if text else ""

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str],
    ) -> Answer:
        """One request; the body is read in chunks so a trickling answer cannot stall us."""
        limit = self.settings.connect_timeout + self.settings.timeout
        started = self._monotonic()
        request = self._http.build_request(method, url, params=params, data=data, json=body, headers=headers)
        response = self._http.send(request, stream=True)
        try:
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if self._monotonic() - started > limit:
                    raise _AnswerTooSlow(f"the answer did not arrive completely within {limit:g} s")
            return Answer(response.status_code, response.headers, b"".join(chunks))
        finally:
            response.close()

    def _note_clock(self, headers: httpx.Headers) -> None:
        value = headers.get("date")
        if not value:
            return
        try:
            stamp = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return
        if stamp.tzinfo is None:
            return
        self._server_clock = (stamp.astimezone(UTC), self._monotonic())


class RequestRefused(ProtocolError):
    """The channel refused the request itself (a 4xx other than credentials and 429)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _AnswerTooSlow(Exception):
    """The answer trickled in for longer than a request may take."""


# --------------------------------------------------------------------------- helpers


def loads(body: bytes) -> Any:
    """JSON; ValueError for a cut-off document (the client retries), ProtocolError for a
    body that is no JSON document at all (an HTML page: the URL is not the API's)."""
    head = body.lstrip()[:1]
    if head and head not in b'{["-0123456789tfn':
        preview = " ".join(body[:80].decode("utf-8", errors="replace").split())
        raise ProtocolError(f"the answer is not JSON (it starts with {preview!r}); is the URL the API's?")
    return lenient_loads(body)


def json_or_none(body: bytes) -> Any:
    """An error body as JSON where it is JSON (a proxy's HTML page is not): for messages."""
    try:
        return loads(body)
    except (ValueError, ProtocolError):
        return None


def whole_seconds(value: datetime) -> str:
    """An instant as `2026-11-20T08:15:02Z`, cut to the second below (both channels take it)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "ChannelHttp",
    "ChannelRules",
    "CursorState",
    "HttpSettings",
    "Limit",
    "Listing",
    "Page",
    "PollingConnector",
    "PollingSettings",
    "RateLimiter",
    "RecordKey",
    "RequestRefused",
    "Scan",
    "TokenBucket",
    "clip",
    "shared_limiter",
    "subscribed",
    "json_or_none",
    "loads",
    "validate_settings",
    "whole_seconds",
]
