"""The received-events log: every event as it arrived, with its outcome, kept for good.

It is the inbox of the sync engine: the unique `(account_id, event_id)` key makes a
redelivered event recognisable, the `normalized` column keeps a parked event ready to
be applied when its order arrives, and `raw` keeps what a malformed event really said.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from channelport.connectors import content
from channelport.connectors.base import Settled
from channelport.domain import codec
from channelport.domain.events import DomainEvent
from channelport.store.bulk import Bulk, chunks
from channelport.store.tables import PARKED, channel_accounts, received_events


@dataclass(slots=True)  # not frozen: a page makes a thousand, and a frozen one takes three times as long to make
class NewRow:
    event_id: str
    wire_type: str
    event_type: str | None
    order_id: str | None
    created_at: datetime | None
    outcome: str
    reason: str | None
    raw: str
    normalized: dict[str, Any] | None
    digest: str | None = None
    repeat_of: str | None = None  # a replay: the event it repeats, whose text it shares (raw "")


FINAL_APPLIED = ("applied", "duplicate", "stale")  # outcomes whose effect (or its absence) is settled for good


@dataclass(frozen=True, slots=True)
class OutcomeUpdate:
    event_id: str
    outcome: str
    reason: str | None
    normalized: dict[str, Any] | None = None


def recorded_outcomes(conn: Connection, account_id: int, event_ids: Iterable[str]) -> dict[str, str]:
    """The outcome recorded for each of these event ids that the log holds.

    Driver SQL (`Bulk`): asked once per page with up to a thousand ids, SQLAlchemy's
    handling of each bound value of the IN list was a tenth of a replay's Python time.
    """
    return dict(Bulk(conn).fetch_in("SELECT event_id, outcome FROM received_events", account_id, "event_id", event_ids))


def settled_digests(conn: Connection, account_id: int, digests: Iterable[str]) -> dict[str, Settled]:
    """Of these content digests, those of events already settled (`FINAL_APPLIED`), each with one event.

    The outcome is checked here, not in SQL: offered an outcome condition, PostgreSQL
    without fresh statistics chose the outcome index and read every applied event of
    the account for each page.
    """
    found: dict[str, Settled] = {}
    for digest, event_id, outcome, event_type, order_id in Bulk(conn).fetch_in(
        "SELECT digest, event_id, outcome, event_type, order_id FROM received_events", account_id, "digest", digests
    ):
        if outcome in FINAL_APPLIED and event_type is not None and digest not in found:
            found[digest] = Settled(event_id, event_type, order_id)
    return found


def parked_events(conn: Connection, account_id: int, order_ids: Iterable[str]) -> dict[str, list[DomainEvent]]:
    """The parked events of these orders, oldest first.

    The condition on `outcome` is the literal of the partial index `PARKED` (tables.py):
    only with the same literal can SQLite (and a PostgreSQL plan) use that index.
    """
    parked: dict[str, list[DomainEvent]] = defaultdict(list)
    for chunk in chunks(sorted(set(order_ids))):
        for row in conn.execute(
            select(received_events.c.order_id, received_events.c.normalized)
            .where(
                received_events.c.account_id == account_id,
                PARKED,
                received_events.c.order_id.in_(chunk),
            )
            .order_by(received_events.c.created_at, received_events.c.id)
        ):
            parked[row.order_id].append(codec.decode(row.normalized))
    return dict(parked)


def insert_rows(conn: Connection, account_id: int, rows: Sequence[NewRow], *, now: datetime, run_id: int | None) -> None:
    bulk = Bulk(conn)
    received_at = bulk.instant(now)
    instant = bulk.maybe_instant
    bulk.insert(
        received_events,
        (
            "account_id", "event_id", "wire_type", "event_type", "order_id", "created_at", "received_at",
            "outcome", "reason", "raw", "normalized", "sync_run_id", "digest", "repeat_of",
        ),
        [
            (
                account_id, row.event_id, row.wire_type, row.event_type, row.order_id, instant(row.created_at),
                received_at, row.outcome, row.reason, row.raw, bulk.json(row.normalized), run_id, row.digest,
                row.repeat_of,
            )
            for row in rows
        ],
    )


def update_outcomes(conn: Connection, account_id: int, updates: Sequence[OutcomeUpdate]) -> None:
    if updates:
        conn.execute(
            update(received_events)
            .where(received_events.c.account_id == account_id, received_events.c.event_id == bindparam("eid"))
            .values(outcome=bindparam("out"), reason=bindparam("why"), normalized=bindparam("norm")),
            [{"eid": u.event_id, "out": u.outcome, "why": u.reason, "norm": u.normalized} for u in updates],
        )


def list_events(
    conn: Connection,
    *,
    account_id: int | None = None,
    outcome: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Any]:
    """The log, newest first; a replay shows its full entry, as it came, under its own id."""
    original = received_events.alias("original")
    query = (
        select(received_events, channel_accounts.c.name.label("account"), original.c.raw.label("original_raw"))
        .join(channel_accounts, channel_accounts.c.id == received_events.c.account_id)
        .outerjoin(
            original,
            and_(original.c.account_id == received_events.c.account_id, original.c.event_id == received_events.c.repeat_of),
        )
        .order_by(received_events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if account_id is not None:
        query = query.where(received_events.c.account_id == account_id)
    if outcome:
        query = query.where(received_events.c.outcome == outcome)
    return [_with_text(row) for row in conn.execute(query)]


def _with_text(row: Any) -> Any:
    """A replay's row with its entry text put back: the original's, under the replay's id.

    A row whose original cannot be found (only if the log was edited by hand) keeps its
    empty text rather than failing the whole list.
    """
    if row.repeat_of is None or row.raw or row.original_raw is None:
        return row
    fields = dict(row._mapping)
    fields["raw"] = content.replay_text(fields.pop("original_raw"), row.event_id)
    return SimpleNamespace(**fields)


def outcome_counts(conn: Connection, *, account_id: int | None = None) -> dict[str, int]:
    query = select(received_events.c.outcome, func.count()).group_by(received_events.c.outcome)
    if account_id is not None:
        query = query.where(received_events.c.account_id == account_id)
    return {outcome: count for outcome, count in conn.execute(query)}


def retryable(conn: Connection, account_id: int, *, outcomes: Sequence[str]) -> list[Any]:
    return list(
        conn.execute(
            select(received_events)
            .where(received_events.c.account_id == account_id, received_events.c.outcome.in_(outcomes))
            .order_by(received_events.c.created_at, received_events.c.id)
        )
    )


def encode_event(event: DomainEvent) -> dict[str, Any]:
    return codec.encode(event)
