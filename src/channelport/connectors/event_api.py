"""The `event-api` connector kind: a queue channel speaking the Channel Event API.

`subscribe` is `PUT /v2/seller/event-imports`, `pull` is `GET /v2/seller/event`, `ack`
is `DELETE /v2/seller/event` (DESIGN.md, "The connector protocol"). The queue lives on
the channel, so this connector keeps no state of its own: `Batch.state` is always None.

The wire is split in two: `event_api_client` (HTTP, retries, error classification) and
`event_api_mapping` (payload validation and domain events). This module only wires
them to the `Connector` protocol and checks what the subscribe answer promises.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channelport.connectors.base import AccountConfig, Batch, EventImport, Received, Screen
from channelport.connectors.event_api_client import ClientSettings, EventApiClient
from channelport.connectors.event_api_mapping import (
    map_item,
    MAX_ACK_IDS,
    MAX_PAGE,
    WIRE_TYPES,
    WireImportsAnswer,
    decode_ack_answer,
    decode_imports_answer,
    decode_page,
    imports_body,
    map_page,
    may_hold_nul,
)
from channelport.domain.events import EventType
from channelport.errors import ProtocolError, UsageError

IMPORTS_PATH = "/v2/seller/event-imports"
EVENTS_PATH = "/v2/seller/event"


class EventApiSettings(BaseModel):
    """Settings of an `event-api` account beyond URL, seller id and token (seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    timeout: float = Field(30.0, gt=0, description="read timeout: longest wait for the channel's answer")
    connect_timeout: float = Field(5.0, gt=0, description="longest wait to open a connection")
    retry_deadline: float = Field(
        300.0, ge=0, description="how long to keep retrying transient faults (429, 5xx, timeouts) before giving up"
    )
    max_retry_wait: float = Field(60.0, gt=0, description="longest single wait between two retries")
    ack_concurrency: int = Field(
        5, ge=1, le=10, description="acknowledgement requests sent at once (a page of 1,000 events needs ten)"
    )

    def client_settings(self) -> ClientSettings:
        return ClientSettings(
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            retry_deadline=self.retry_deadline,
            max_retry_wait=self.max_retry_wait,
        )


def _decode_pull(body: bytes) -> tuple[list[Any], bool]:
    return decode_page(body), may_hold_nul(body)


class EventApiConnector:
    """One account on a Channel Event API channel, for one sync at a time.

    Its pulls and its acknowledgements may run on two threads at once (the page feed
    does that); nothing else may share it.

    Acknowledging a page of 1,000 events takes ten requests (at most 100 ids each). One
    after another they cost ten round trips per page: on a channel 50 ms away, half a
    second, more than storing the page takes, so a sync would run at the network's pace.
    `ack` therefore sends up to `ack_concurrency` of them at once, each on its own
    connection and with its own retries, and may run while the next page is pulled
    (`acks_apart`, services/page_feed.py; bench/latency.py).
    """

    prefetch: ClassVar[bool] = True  # pages are independent: the next may be pulled while one is stored
    screens: ClassVar[bool] = True  # `pull` takes a `screen` that finds replays before mapping
    acks_apart: ClassVar[bool] = True  # `ack` may run beside `pull`: the client is safe for threads

    def __init__(
        self,
        config: AccountConfig,
        settings: EventApiSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.settings = settings or EventApiSettings()
        self._ack_pool: ThreadPoolExecutor | None = None
        self._client = EventApiClient(
            config.url,
            config.token,
            self.settings.client_settings(),
            transport=transport,
            sleep=sleep,
            monotonic=monotonic,
            uniform=uniform,
        )

    def subscribe(self, imports: Sequence[EventImport]) -> None:
        """Replace the channel's subscriptions with the enabled types.

        `createdAfter` re-queues events on the channel, so it goes only with a pending
        request; sending it again on every sync would deliver everything again each time.
        """
        wanted: dict[EventType, datetime | None] = {}
        for row in imports:
            if row.enabled:
                wanted[row.event_type] = row.import_from if row.pending else None
        body = imports_body([(kind, wanted[kind]) for kind in EventType if kind in wanted])
        answer = self._client.call("PUT", IMPORTS_PATH, decode_imports_answer, json=body)
        _check_subscribed(answer, set(wanted))

    def pull(self, limit: int, screen: Screen | None = None) -> Batch:
        """The next page of events, mapped (replays found by `screen` are not); empty when nothing is visible now."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        items, nul = self._client.call("GET", EVENTS_PATH, _decode_pull, params={"limit": min(limit, MAX_PAGE)})
        # Walking every value for U+0000 costs 2 % of a sync: only where the body may hold one.
        received, ack_ids = map_page(items, check_nul=nul, screen=screen)
        return Batch(items=received, ack_ids=ack_ids)

    def ack(self, batch: Batch) -> None:
        """Acknowledge the batch's channel ids, at most 100 per request, several requests at once.

        Returns when every request has its answer. When some fail, the others still run to
        their end and the first failure (in the ids' order) is raised: an id left
        unacknowledged is only delivered again, and then recorded as a duplicate.
        """
        ids = batch.ack_ids
        chunks = [list(ids[start : start + MAX_ACK_IDS]) for start in range(0, len(ids), MAX_ACK_IDS)]
        if len(chunks) <= 1 or self.settings.ack_concurrency == 1:
            for chunk in chunks:
                self._ack_chunk(chunk)
            return
        if self._ack_pool is None:
            self._ack_pool = ThreadPoolExecutor(self.settings.ack_concurrency, thread_name_prefix="channel-ack")
        sent = [self._ack_pool.submit(self._ack_chunk, chunk) for chunk in chunks]
        failures = [future.exception() for future in sent]
        for failure in failures:
            if failure is not None:
                raise failure

    def _ack_chunk(self, chunk: list[str]) -> None:
        self._client.call("DELETE", EVENTS_PATH, decode_ack_answer, json={"eventIdList": chunk})

    def state(self) -> None:
        """Nothing to keep: the channel holds the queue and the cursor."""
        return None

    def close(self) -> None:
        if self._ack_pool is not None:
            self._ack_pool.shutdown(wait=True)
        self._client.close()

    def __enter__(self) -> EventApiConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_subscribed(answer: WireImportsAnswer, enabled: set[EventType]) -> None:
    """Every type we enabled must come back enabled, or the channel did not take the request.

    Only then may the engine mark a pending "import from" as delivered. A type we left
    out but the answer still shows enabled is tolerated: its events are ignored by the
    domain, and stopping the sync for it would help no one.
    """
    state = {row.type: row.is_import_enabled for row in answer.event_imports}
    missing = [WIRE_TYPES[kind] for kind in EventType if kind in enabled and state.get(WIRE_TYPES[kind]) is not True]
    if missing:
        raise ProtocolError(
            f"the channel did not confirm the subscription: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not enabled in its answer to PUT {IMPORTS_PATH}"
        )


class EventApiKind:
    """The entry point `event-api`: used as the class itself, so everything is class-level."""

    name: ClassVar[str] = "event-api"
    title: ClassVar[str] = "Channel Event API v2 (queue of order events, SCX-like marketplaces)"
    settings_model: ClassVar[type[BaseModel]] = EventApiSettings
    secret_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def create(
        cls,
        config: AccountConfig,
        state: Mapping[str, Any] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> EventApiConnector:
        """A connector for one account; `state` is unused (the channel keeps the queue)."""
        try:
            settings = EventApiSettings.model_validate(dict(config.settings))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(step) for step in error['loc']) or 'settings'}: {error['msg']}"
                for error in exc.errors(include_url=False)
            )
            raise UsageError(f"invalid event-api settings: {problems}") from None
        if not config.url.startswith(("http://", "https://")):
            raise UsageError(f"the event-api URL must start with http:// or https://, got {config.url!r}")
        return EventApiConnector(config, settings, transport=transport)

    @staticmethod
    def parse(raw: Any) -> Received:
        """Map a stored raw entry again: `events retry` uses it after a fix or a config change."""
        return map_item(raw)[0]


__all__ = ["EventApiConnector", "EventApiKind", "EventApiSettings"]
