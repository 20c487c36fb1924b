"""The sync of one account (Abgleich), step by step as DESIGN.md lays it out.

1. refuse without the order package, for an inactive or a locked account;
2. take the lease (one conditional UPDATE) or report "busy";
3. subscribe when an event import changed or a request is pending, and mark the
   requests delivered only after the channel accepted them;
4. loop: pull; in ONE transaction record every event, apply it, retry parked ones,
   store connector state and renew the lease; commit; then acknowledge;
5. finish the sync run row and release the lease.

An effect is always committed before its event is acknowledged, so a crash anywhere
loses nothing; a redelivered event is recognised by its id or by the domain rules.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, insert, update

from channelport import logs, metrics
from channelport.connectors.base import Batch, Connector, EventImport, Received, Settled
from channelport.connectors.content import entry_text
from channelport.connectors.registry import get_kind
from channelport.domain import codec
from channelport.domain.accounts import Account
from channelport.domain.events import EventType, OrderSeen
from channelport.domain.inbox import InboxResult, InboxView, ParkedEvent, process
from channelport.domain.outcomes import Outcome
from channelport.errors import ChannelportError, CredentialsRejected, SyncRefused
from channelport.services.accounts import connector_config
from channelport.services.installation import require_order_package
from channelport.services.known_orders import KnownOrders
from channelport.services.page_feed import PageFeed
from channelport.services.replays import content_digest, find_replays, screen_for
from channelport.services.runtime import Runtime
from channelport.store import accounts as accounts_repo
from channelport.store import orders as orders_repo
from channelport.store import received as received_repo
from channelport.store.db import refresh_statistics, unit_of_work
from channelport.store.tables import connector_state, sync_runs

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
UNKNOWN = "unknown"  # the counts' key for events without a known type
REPEAT_PAGES_LIMIT = 3  # pages in a row of ids this sync acknowledged already: the channel ignores acks
STATISTICS_PAGES = (10, 100)  # pages after which PostgreSQL's statistics are refreshed, then every
STATISTICS_EVERY = 500  # (store/db.py refresh_statistics)
ACKED_PAGES = 50  # pages of acknowledged ids remembered per sync to recognise such a channel


class LeaseLost(ChannelportError):
    """Another process took this account's lease: stop before writing anything more."""


@dataclass
class SyncProgress:
    account: str
    run_id: int | None = None
    events: int = 0
    batches: int = 0
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    phase: str = "starting"

    def count(self, event_type: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(event_type, Counter())[outcome] += n

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for per_type in self.counts.values():
            total.update(per_type)
        return total

    def counts_json(self) -> dict[str, dict[str, int]]:
        return {t: dict(sorted(c.items())) for t, c in sorted(self.counts.items())}


@dataclass(frozen=True)
class SyncReport:
    account: str
    status: str  # succeeded, failed, stopped, skipped, busy
    run_id: int | None = None
    events: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def total(self, outcome: str) -> int:
        return sum(per_type.get(outcome, 0) for per_type in self.counts.values())


ProgressCallback = Callable[[SyncProgress], None]
ConnectorFactory = Callable[[Account, Any, Any], Connector]


def new_owner(label: str = "sync") -> str:
    return f"{label}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def sync_account(
    rt: Runtime,
    account: Account,
    *,
    trigger: str,
    owner: str | None = None,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncReport:
    """Sync one account until the channel has nothing more, or `stop` is set."""
    owner = owner or new_owner()
    try:
        _refuse_if_not_syncable(rt, account)
    except SyncRefused as exc:
        return metrics.observe_report(SyncReport(account.name, "skipped", error=str(exc)))
    if not _take_lease(rt, account, owner):
        busy = SyncReport(account.name, "busy", error="another process is syncing this account")
        return metrics.observe_report(busy)
    try:
        return _SyncRun(rt, account, trigger, owner, on_progress, stop, transport).run()
    finally:
        with unit_of_work(rt.engine) as conn:
            accounts_repo.release_lease(conn, account.id, owner=owner)


def _refuse_if_not_syncable(rt: Runtime, account: Account) -> None:
    with unit_of_work(rt.engine) as conn:
        require_order_package(accounts_repo.load_packages(conn) or frozenset())
        current = accounts_repo.get_account_by_id(conn, account.id)
    if not current.active:
        raise SyncRefused("inactive")
    if current.locked:
        raise SyncRefused(f"locked: {current.lock_reason}")


def _take_lease(rt: Runtime, account: Account, owner: str) -> bool:
    now = rt.now()
    with unit_of_work(rt.engine) as conn:
        return accounts_repo.take_lease(
            conn, account.id, owner=owner, now=now, until=now + timedelta(seconds=rt.settings.lease_seconds)
        )


class _SyncRun:
    def __init__(
        self,
        rt: Runtime,
        account: Account,
        trigger: str,
        owner: str,
        on_progress: ProgressCallback | None,
        stop: threading.Event | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.rt = rt
        self.account = account
        self.trigger = trigger
        self.owner = owner
        self.on_progress = on_progress or (lambda _p: None)
        self.stop = stop or threading.Event()
        self.transport = transport
        self.progress = SyncProgress(account.name)
        self.started_at = rt.now()
        self.started_monotonic = time.monotonic()
        self.known = KnownOrders(rt.settings.order_cache)
        self.parse: Callable[[Any], Received] | None = None  # the kind's mapper, for an entry screened as a replay

    def run(self) -> SyncReport:
        self.progress.run_id = self._start_run_row()
        with logs.sync_log_context(account=self.account.name, run_id=self.progress.run_id):
            return self._run()

    def _run(self) -> SyncReport:
        error: str | None = None
        status = "succeeded"
        connector: Connector | None = None
        try:
            with unit_of_work(self.rt.engine) as conn:
                account = accounts_repo.get_account_by_id(conn, self.account.id)
                config = connector_config(self.rt, conn, account)
                logs.register_secrets(config.token, *config.secrets.values())
                imports = accounts_repo.load_imports(conn, account.id)
                state = _load_state(conn, account.id)
            kind = get_kind(account.kind)
            self.parse = getattr(kind, "parse", None)
            connector = kind.create(config, state, transport=self.transport)
            self._subscribe_if_needed(connector, account, imports)
            enabled = frozenset(i.event_type for i in imports if i.enabled)
            if not self._drain(connector, enabled):
                status = "stopped"  # told to stop (shutdown, watchdog) before the channel was drained
        except CredentialsRejected as exc:
            status, error = "failed", f"credentials rejected: {exc}"
            self._mark_credentials_rejected(str(exc))
            log.error("account %s: %s", self.account.name, error)
        except LeaseLost as exc:
            status, error = "failed", str(exc)
        except ChannelportError as exc:
            status, error = "failed", str(exc)
            log.warning("account %s: sync failed: %s", self.account.name, exc)
        except Exception as exc:  # noqa: BLE001 - a sync never takes the worker down with it
            status, error = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
            log.exception("account %s: sync crashed", self.account.name)
        finally:
            if connector is not None:
                connector.close()
        return self._finish(status, error)

    # --- steps --------------------------------------------------------------------

    def _subscribe_if_needed(self, connector: Connector, account: Account, imports: Sequence[EventImport]) -> None:
        pending = [i.event_type for i in imports if i.pending and i.enabled]
        if not (account.subscription_changed or pending):
            return
        self.progress.phase = "subscribing"
        self.on_progress(self.progress)
        connector.subscribe(imports)
        state = connector.state() if hasattr(connector, "state") else None
        with unit_of_work(self.rt.engine) as conn:
            accounts_repo.mark_delivered(conn, account.id, pending, now=self.rt.now())
            if state is not None:
                _save_state(conn, account.id, state, self.rt.now())

    def _drain(self, connector: Connector, enabled: frozenset[EventType]) -> bool:
        """Pull, store, acknowledge until the channel has nothing more; False when stopped first.

        A page of events recorded before (redelivered after a crash, or a backlog the last
        process committed but could not acknowledge) is progress: acknowledging it shrinks
        the queue. Only ids that come back after THIS sync acknowledged them show a channel
        that ignores acknowledgements; a few such pages in a row end the sync as failed
        instead of looping forever.
        """
        acked = _RecentIds(ACKED_PAGES)
        repeat_pages = 0
        last_state = None
        self.progress.phase = "importing"
        with PageFeed(connector, PAGE_SIZE, screen=screen_for(self.rt.engine, self.account.id)) as feed:
            while not self.stop.is_set() or feed.pending:  # a page fetched ahead is stored before stopping
                batch = feed.next_page(more=not self.stop.is_set())
                if batch.empty:
                    if batch.state is not None:  # a polling scan may end on a page with nothing to import
                        with unit_of_work(self.rt.engine) as conn:
                            _save_state(conn, self.account.id, batch.state, self.rt.now())
                    feed.finish()
                    return True
                self._store_batch(batch, enabled)
                feed.ack(batch)
                self.progress.batches += 1
                if self.progress.batches in STATISTICS_PAGES or self.progress.batches % STATISTICS_EVERY == 0:
                    with unit_of_work(self.rt.engine) as conn:
                        refresh_statistics(conn)
                self.progress.events += len(batch.items)
                self.on_progress(self.progress)
                ids = [item.event_id for item in batch.items]
                moved = batch.state is not None and batch.state != last_state  # a polling cursor advancing
                last_state = batch.state
                repeat_pages = repeat_pages + 1 if acked.contains_all(ids) and not moved else 0
                acked.add(ids)
                if repeat_pages >= REPEAT_PAGES_LIMIT:
                    raise ChannelportError(
                        f"the channel sent {REPEAT_PAGES_LIMIT} pages in a row of events this sync had already "
                        "acknowledged (it ignores acknowledgements); everything received is imported, the sync "
                        "stopped so it cannot loop forever"
                    )
            feed.finish()
        return False

    def reprocess(self, items: Sequence[Received], enabled: frozenset[EventType]) -> SyncReport:
        """Decide recorded events again (`events retry`): same path as a pulled batch."""
        self.progress.run_id = self._start_run_row()
        with logs.sync_log_context(account=self.account.name, run_id=self.progress.run_id):
            return self._reprocess(items, enabled)

    def _reprocess(self, items: Sequence[Received], enabled: frozenset[EventType]) -> SyncReport:
        self.progress.phase = "retrying"
        status, error = "succeeded", None
        try:
            for start in range(0, len(items), PAGE_SIZE):
                chunk = tuple(items[start : start + PAGE_SIZE])
                self._store_batch(Batch(items=chunk), enabled, reconsider=frozenset(i.event_id for i in chunk))
                self.progress.events += len(chunk)
                self.on_progress(self.progress)
        except ChannelportError as exc:
            status, error = "failed", str(exc)
        return self._finish(status, error)

    def _store_batch(
        self, batch: Batch, enabled: frozenset[EventType], *, reconsider: frozenset[str] = frozenset()
    ) -> None:
        """Record, apply and store one batch in one transaction.

        Ids in `reconsider` are recorded already but decided again (their rows updated).
        """
        now = self.rt.now()
        account_id = self.account.id
        with unit_of_work(self.rt.engine) as conn:
            if not accounts_repo.renew_lease(conn, account_id, owner=self.owner, until=self._lease_until()):
                raise LeaseLost("the account's lease was taken over by another process; this sync stopped")
            raw_texts: dict[str, str] = {}  # made once (a queue connector hands them over), for the log and the digest
            for item in batch.items:
                if item.event_id not in raw_texts:
                    raw_texts[item.event_id] = item.text if item.text is not None else _raw_text(item.raw)
            digests = {item.event_id: d for item in batch.items
                       if (d := content_digest(item, raw_texts[item.event_id])) is not None}
            seen = received_repo.recorded_outcomes(conn, account_id, [item.event_id for item in batch.items])
            replays = find_replays(conn, account_id, batch.items, digests, seen, reconsider)
            rest = tuple(self._mapped(item) for item in batch.items if item.event_id not in replays)
            order_ids = {item.event.order_id for item in rest if item.event is not None}
            stored, missing = self.known.take(order_ids)
            stored.update(orders_repo.load_orders(conn, account_id, missing))
            items = expand_snapshots(rest, {oid: state for oid, (_pk, state) in stored.items()})
            if any(isinstance(item.event, OrderSeen) for item in rest):  # derived events have ids of their own
                seen = received_repo.recorded_outcomes(conn, account_id, [item.event_id for item in items])
            decided = {event_id: outcome for event_id, outcome in seen.items() if event_id not in reconsider}
            events = [item.event for item in items if item.event is not None]
            parked = received_repo.parked_events(conn, account_id, order_ids - stored.keys())
            view = InboxView(
                orders={order_id: state for order_id, (_pk, state) in stored.items()},
                parked={order_id: [ParkedEvent(e) for e in evs] for order_id, evs in parked.items()},
                seen={event_id: Outcome(outcome) for event_id, outcome in decided.items()},
            )
            result = process(view, events, seller_id=self.account.seller_id, enabled=enabled)
            pks = self._write_orders(conn, stored, result, now)
            self._write_log(conn, items, seen, decided, result, now, digests, raw_texts)
            self._write_replays(conn, batch.items, replays, now)
            self._write_history(conn, pks, result, now)
            if batch.state is not None:
                _save_state(conn, account_id, batch.state, now)
            self._write_run_progress(conn)
        # Committed: what the database holds now is what the next page may start from.
        self.known.remember(stored)
        self.known.remember({order_id: (pks[order_id], state) for order_id, state in result.orders.items()})

    def _mapped(self, item: Received) -> Received:
        """An entry the channel thread took for a replay, whose id the log holds already: the rules decide it."""
        if item.settled is None:
            return item
        if self.parse is None:
            raise ChannelportError(f"the connector screened event {item.event_id} but its kind cannot map it again")
        return self.parse(item.raw)

    def _write_orders(
        self, conn: Connection, stored: dict[str, tuple[int, Any]], result: InboxResult, now: datetime
    ) -> dict[str, int]:
        pks = {order_id: pk for order_id, (pk, _state) in stored.items()}
        created = [result.orders[order_id] for order_id in sorted(result.created)]
        pks.update(orders_repo.insert_orders(conn, self.account.id, created, now=now))
        changed = [
            (stored[order_id][0], stored[order_id][1], state)
            for order_id, state in result.orders.items()
            if order_id not in result.created and order_id in stored
        ]
        orders_repo.update_orders(conn, self.account.id, changed, now=now)
        return pks

    def _write_log(
        self,
        conn: Connection,
        items: Sequence[Received],
        seen: dict[str, str],
        decided: dict[str, str],
        result: InboxResult,
        now: datetime,
        digests: dict[str, str],
        raw_texts: dict[str, str],
    ) -> None:
        """One row per event id with its final outcome: inserted, or updated where recorded."""
        new_rows: list[received_repo.NewRow] = []
        updates: list[received_repo.OutcomeUpdate] = []
        domain_results = iter(result.results)
        ids_here: set[str] = set()
        for item in items:
            if item.event is not None:
                res = next(domain_results)
                event_type, outcome, reason = str(item.event.type), str(res.outcome), res.reason
                self.progress.count(event_type, outcome)
                if not res.record:
                    continue
                normalized = codec.encode(item.event) if res.outcome is Outcome.PARKED else None
                order_id = item.event.order_id
            else:
                event_type = UNKNOWN if item.unknown else "invalid"
                if item.event_id in ids_here or decided.get(item.event_id, "ignored") != "ignored":
                    self.progress.count(event_type, "duplicate")
                    continue
                outcome = "unknown" if item.unknown else "rejected"
                reason, normalized, order_id = item.problem, None, _order_id_of(item.raw)
                self.progress.count(event_type, outcome)
            ids_here.add(item.event_id)
            if item.event_id in seen:
                updates.append(received_repo.OutcomeUpdate(item.event_id, outcome, reason, normalized))
                continue
            new_rows.append(
                received_repo.NewRow(
                    event_id=_storable(item.event_id),
                    wire_type=_storable(item.wire_type[:100]),
                    event_type=None if item.event is None else str(item.event.type),
                    order_id=None if order_id is None else _storable(order_id),
                    created_at=item.created_at,
                    outcome=outcome,
                    reason=None if reason is None else _storable(reason),
                    raw=raw_texts.get(item.event_id) or _raw_text(item.raw),  # derived events: their snapshot
                    normalized=normalized,
                    digest=digests.get(item.event_id),
                )
            )
        for res in result.resolved:
            updates.append(received_repo.OutcomeUpdate(res.event.event_id, str(res.outcome), res.reason, None))
            self.progress.count(str(res.event.type), "unparked" if res.outcome is Outcome.APPLIED else str(res.outcome))
        received_repo.insert_rows(conn, self.account.id, new_rows, now=now, run_id=self.progress.run_id)
        received_repo.update_outcomes(conn, self.account.id, updates)

    def _write_replays(
        self,
        conn: Connection,
        items: Sequence[Received],
        replays: dict[str, Settled],
        now: datetime,
    ) -> None:
        """Events that repeat a settled one (services/replays.py): a duplicate row each, nothing applied.

        Type and order are the settled event's: the content is the same, so its mapping is.
        So is its text: the row names the event it repeats instead of keeping the text
        and digest again. A request again from a date adds a narrow row per event rather
        than a second copy of every payload (bench/README.md, session 7).
        """
        if not replays:
            return
        rows: dict[str, received_repo.NewRow] = {}
        duplicate = str(Outcome.DUPLICATE)
        per_type: Counter[str] = Counter()
        for item in items:
            original = replays.get(item.event_id)
            if original is None:
                continue
            per_type[original.event_type] += 1
            if item.event_id in rows:  # the same id twice in one page: one row
                continue
            rows[item.event_id] = received_repo.NewRow(
                event_id=_storable(item.event_id),
                wire_type=_storable(item.wire_type[:100]),
                event_type=original.event_type,
                order_id=original.order_id,
                created_at=item.created_at,
                outcome=duplicate,
                reason=f"the same event was received before as {original.event_id}"[:1000],
                raw="",  # the original's text under this id: `repeat_of` names it
                normalized=None,
                repeat_of=original.event_id,
            )
        for event_type, count in per_type.items():
            self.progress.count(event_type, duplicate, count)
        received_repo.insert_rows(conn, self.account.id, list(rows.values()), now=now, run_id=self.progress.run_id)

    def _write_history(self, conn: Connection, pks: dict[str, int], result: InboxResult, now: datetime) -> None:
        rows = [
            orders_repo.HistoryRow(
                order_id=res.event.order_id,
                event_id=res.event.event_id,
                event_type=str(res.event.type),
                created_at=res.event.created_at,
                part=change.part,
                before=change.before,
                after=change.after,
            )
            for res in [*result.results, *result.resolved]
            if res.outcome is Outcome.APPLIED
            for change in res.changes
        ]
        orders_repo.insert_history(conn, pks, rows, now=now)

    # --- the sync run row -----------------------------------------------------------

    def _start_run_row(self) -> int:
        """A new run row; runs left "running" by a process that died are closed as interrupted."""
        with unit_of_work(self.rt.engine) as conn:
            conn.execute(
                update(sync_runs)
                .where(sync_runs.c.account_id == self.account.id, sync_runs.c.status == "running")
                .values(status="interrupted", finished_at=self.started_at,
                        error="the syncing process ended without finishing this run")
            )
            return int(
                conn.execute(
                    insert(sync_runs).values(
                        account_id=self.account.id,
                        trigger=self.trigger,
                        status="running",
                        started_at=self.started_at,
                        events=0,
                        counts={},
                        owner=self.owner,
                    )
                ).inserted_primary_key[0]
            )

    def _write_run_progress(self, conn: Connection) -> None:
        conn.execute(
            update(sync_runs)
            .where(sync_runs.c.id == self.progress.run_id)
            .values(events=self.progress.events, counts=self.progress.counts_json())
        )

    def _finish(self, status: str, error: str | None) -> SyncReport:
        finished = self.rt.now()
        values: dict[str, Any] = {"last_sync_at": finished, "last_sync_status": status}
        if status == "succeeded":
            values.update(last_success_at=finished, credentials_rejected=None)
        with unit_of_work(self.rt.engine) as conn:
            conn.execute(
                update(sync_runs)
                .where(sync_runs.c.id == self.progress.run_id)
                .values(
                    status=status,
                    finished_at=finished,
                    events=self.progress.events,
                    counts=self.progress.counts_json(),
                    error=logs.mask(error) if error else error,
                )
            )
            accounts_repo.update_account(conn, self.account.id, now=finished, **values)
        self.progress.phase = status
        self.on_progress(self.progress)
        report = SyncReport(
            account=self.account.name,
            status=status,
            run_id=self.progress.run_id,
            events=self.progress.events,
            counts=self.progress.counts_json(),
            error=logs.mask(error) if error else error,
            started_at=self.started_at,
            finished_at=finished,
        )
        return metrics.observe_report(report, time.monotonic() - self.started_monotonic)

    def _mark_credentials_rejected(self, message: str) -> None:
        """Stored masked: a channel may quote the credential it refused (registered in `_run`)."""
        with unit_of_work(self.rt.engine) as conn:
            accounts_repo.update_account(conn, self.account.id, now=self.rt.now(),
                                         credentials_rejected=logs.mask(message)[:1000])

    def _lease_until(self) -> datetime:
        return self.rt.now() + timedelta(seconds=self.rt.settings.lease_seconds)


class _RecentIds:
    """The ids acknowledged in the last `pages` pages of one sync.

    Kept a page at a time: refreshing and trimming a dict of 50,000 ids one id at a
    time cost a second per 100,000 events.
    """

    def __init__(self, pages: int) -> None:
        self._pages: deque[frozenset[str]] = deque(maxlen=pages)

    def contains_all(self, ids: Sequence[str]) -> bool:
        pages = self._pages
        return bool(ids) and all(any(i in page for page in pages) for i in ids)

    def add(self, ids: Sequence[str]) -> None:
        self._pages.append(frozenset(ids))


def expand_snapshots(items: Sequence[Received], stored: dict[str, Any]) -> tuple[Received, ...]:
    """Polling channels deliver order snapshots; the domain derives the five event types.

    Each derived event gets a deterministic id (the snapshot's id plus a suffix), so a
    page fetched twice is recognised like a redelivered queue event.
    """
    if not any(isinstance(item.event, OrderSeen) for item in items):
        return tuple(items)
    from channelport.domain.snapshots import expand

    out: list[Received] = []
    for item in items:
        if not isinstance(item.event, OrderSeen):
            out.append(item)
            continue
        for event in expand(stored.get(item.event.order_id), item.event):
            out.append(Received(event.event_id, item.wire_type, event.created_at, item.raw, event=event))
    return tuple(out)


def _load_state(conn: Connection, account_id: int) -> dict[str, Any] | None:
    row = conn.execute(connector_state.select().where(connector_state.c.account_id == account_id)).first()
    return dict(row.state) if row else None


def _save_state(conn: Connection, account_id: int, state: Any, now: datetime) -> None:
    values = {"state": dict(state), "updated_at": now}
    if conn.execute(
        update(connector_state).where(connector_state.c.account_id == account_id).values(**values)
    ).rowcount == 0:
        conn.execute(insert(connector_state).values(account_id=account_id, **values))


def _storable(text: str) -> str:
    """Text any database column can hold: PostgreSQL refuses U+0000 in text, and one
    event the log cannot record would fail every sync of the account from then on."""
    return text.replace("\x00", "\ufffd")


def _raw_text(raw: Any) -> str:
    if isinstance(raw, str):
        return _storable(raw)
    return entry_text(raw)


def _order_id_of(raw: Any) -> str | None:
    """Best effort: where a malformed event still names its order, keep that for searching."""
    if isinstance(raw, dict):
        payload = raw.get("event")
        if isinstance(payload, dict) and isinstance(payload.get("orderId"), str):
            return payload["orderId"][:200]
    return None

