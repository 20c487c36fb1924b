"""The connector protocol the sync engine drives, and what a connector kind declares.

The engine calls `subscribe` when an event import changed or a request is pending,
then loops `pull` -> (store the batch's effects, commit) -> `ack` until a pull comes
back empty. A connector keeps everything the engine must store with the batch (a
polling cursor) in `Batch.state`, so that the cursor only moves with committed data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import httpx
from pydantic import BaseModel

from channelport.domain.events import DomainEvent, EventType


@dataclass(frozen=True, slots=True)
class EventImport:
    """One row of the Import tab, as the connector needs it (instants in UTC)."""

    event_type: EventType
    enabled: bool
    import_from: datetime | None = None
    pending: bool = False


@dataclass(slots=True)
class Received:
    """One event as it came off the wire.

    `event` is the normalized event, or None when the connector could not make one;
    then `problem` says why ("unknown event type ...", or the validation error) and
    `unknown` tells a newer type apart from a malformed payload. `raw` is the JSON
    value as received (a str when it was not JSON), kept so nothing is ever lost.

    A queue connector also hands over the entry's `text` and content `digest`
    (`connectors/content.py`). `settled` is set instead of `event` when the page was
    screened and the log already holds a settled event of the same content: such an
    entry is a replay and is not mapped at all.

    Not frozen, though nothing changes one once it is made: one is made for every entry
    of every page, and a frozen dataclass of these ten fields takes 2.1-2.5 us to make
    against 0.4-0.7 (about 4 % of a request again's CPU).
    """

    event_id: str
    wire_type: str
    created_at: datetime | None
    raw: Any
    event: DomainEvent | None = None
    problem: str | None = None
    unknown: bool = False
    text: str | None = None
    digest: str | None = None
    settled: Settled | None = None


class Settled(NamedTuple):
    """An event the log holds with a settled outcome, as a replay of it is recorded.

    A tuple: one is made for every replay a screen finds.
    """

    event_id: str
    event_type: str
    order_id: str | None


Screen = Callable[[Sequence[str]], Mapping[str, Settled]]
"""Of these content digests, those of settled events: asked on the channel's thread, before mapping."""


@dataclass(frozen=True, slots=True)
class Batch:
    items: tuple[Received, ...] = ()
    ack_ids: tuple[str, ...] = ()
    state: Mapping[str, Any] | None = None  # connector state to store with this batch

    @property
    def empty(self) -> bool:
        return not self.items


class Connector(Protocol):
    """`subscribe` may move a polling cursor back; the engine then stores `state()` with
    the delivered request, so a cursor reset is never lost when the channel has nothing yet."""

    def subscribe(self, imports: Sequence[EventImport]) -> None: ...

    def state(self) -> Mapping[str, Any] | None: ...

    def pull(self, limit: int) -> Batch: ...

    def ack(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """What a connector gets to talk to one channel account (secrets decrypted)."""

    url: str
    seller_id: str
    token: str
    timezone: str = "Europe/Berlin"
    settings: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)


class ConnectorKind(Protocol):
    """What the entry point `channelport.connectors` names: one kind of channel."""

    name: str  # e.g. "event-api"
    title: str  # one line for `channelport connectors`
    settings_model: type[BaseModel]  # the kind's settings beyond the common options
    secret_names: tuple[str, ...]  # the kind's secrets beyond the token

    def create(
        self,
        config: AccountConfig,
        state: Mapping[str, Any] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> Connector: ...


class ReparsingKind(Protocol):
    """A kind that can map a stored raw event again (optional: `events retry` uses it)."""

    def parse(self, raw: Any) -> Received: ...
