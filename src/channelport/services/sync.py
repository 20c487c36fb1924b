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

On PostgreSQL step 4 is split in two, so that the server's work on one page and the
rules of the next overlap: a page is decided from a read of the database plus what the
page before it (written, not yet committed) records, then written and committed in one
transaction on a writer thread that renews the lease first. The lease is what makes
deciding outside the writing transaction safe: only its holder writes the account's
orders and log, and a page whose lease renewal fails writes nothing. A page still
commits all its rows at once, and only after that is it acknowledged.
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
from concurrent.futures import Future, ThreadPoolExecutor
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
from channelport.domain.events import DomainEvent, EventType, OrderSeen
from channelport.domain.inbox import InboxResult, InboxView, ParkedEvent, process
from channelport.domain.order import OrderState
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
from channelport.store.db import read_only, refresh_statistics, spare_connection, unit_of_work
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

    def add(self, events: int, counts: dict[str, Counter[str]]) -> None:
        """A stored page: its events and its outcomes by event type (`_PagePlan.count`)."""
        self.events += events
        for event_type, per_outcome in counts.items():
            self.counts.setdefault(event_type, Counter()).update(per_outcome)

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

        On PostgreSQL a page's writes run on a writer thread while the next page is
        decided (`_Writer`): the storing thread would otherwise wait for the server about
        half of a backfill. A page is acknowledged only once its own commit returned.
        """
        self._acked = _RecentIds(ACKED_PAGES)
        self._repeat_pages = 0
        self._last_state = None
        self.progress.phase = "importing"
        writer = _Writer(self) if self.rt.engine.dialect.name == "postgresql" else None
        with PageFeed(connector, PAGE_SIZE, screen=screen_for(self.rt.engine, self.account.id)) as feed:
            try:
                while not self.stop.is_set() or feed.pending:  # a page fetched ahead is stored before stopping
                    batch = feed.next_page(more=not self.stop.is_set())
                    if batch.empty:
                        if writer is not None:
                            self._settle(writer.wait(), feed)
                        if batch.state is not None:  # a polling scan may end on a page with nothing to import
                            with unit_of_work(self.rt.engine) as conn:
                                _save_state(conn, self.account.id, batch.state, self.rt.now())
                        feed.finish()
                        return True
                    if writer is None or _replays_only(batch) or not spare_connection(self.rt.engine):
                        self._settle(None if writer is None else writer.wait(), feed)
                        self._settle(self._store_batch(batch, enabled), feed)
                        continue
                    before = writer.in_flight
                    with read_only(self.rt.engine) as conn:
                        plan = self._plan(conn, batch, enabled, frozenset(), before)
                    self._settle(writer.wait(), feed)
                    writer.start(plan, before)
                if writer is not None:
                    self._settle(writer.wait(), feed)
                feed.finish()
            finally:
                if writer is not None:
                    writer.close()  # after a failure: the page in flight ends (committed or not) before the sync
        return False

    def _settle(self, plan: _PagePlan | None, feed: PageFeed) -> None:
        """A page's transaction committed: keep its orders, acknowledge it, count it."""
        if plan is None:
            return
        self._remember(plan)
        batch = plan.batch
        feed.ack(batch)
        self.progress.batches += 1
        if self.progress.batches in STATISTICS_PAGES or self.progress.batches % STATISTICS_EVERY == 0:
            with unit_of_work(self.rt.engine) as conn:
                refresh_statistics(conn)
        self.progress.add(len(batch.items), plan.counts)
        self.on_progress(self.progress)
        ids = [item.event_id for item in batch.items]
        moved = batch.state is not None and batch.state != self._last_state  # a polling cursor advancing
        self._last_state = batch.state
        self._repeat_pages = self._repeat_pages + 1 if self._acked.contains_all(ids) and not moved else 0
        self._acked.add(ids)
        if self._repeat_pages >= REPEAT_PAGES_LIMIT:
            raise ChannelportError(
                f"the channel sent {REPEAT_PAGES_LIMIT} pages in a row of events this sync had already "
                "acknowledged (it ignores acknowledgements); everything received is imported, the sync "
                "stopped so it cannot loop forever"
            )

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
                plan = self._store_batch(Batch(items=chunk), enabled, reconsider=frozenset(i.event_id for i in chunk))
                self._remember(plan)
                self.progress.add(len(chunk), plan.counts)
                self.on_progress(self.progress)
        except ChannelportError as exc:
            status, error = "failed", str(exc)
        return self._finish(status, error)

    def _store_batch(
        self, batch: Batch, enabled: frozenset[EventType], *, reconsider: frozenset[str] = frozenset()
    ) -> _PagePlan:
        """Record, apply and store one batch in one transaction; the caller remembers it once committed.

        Ids in `reconsider` are recorded already but decided again (their rows updated).
        """
        with unit_of_work(self.rt.engine) as conn:
            self._renew_lease(conn)
            plan = self._plan(conn, batch, enabled, reconsider, None)
            self._write(conn, plan, None)
        return plan

    def _renew_lease(self, conn: Connection) -> None:
        if not accounts_repo.renew_lease(conn, self.account.id, owner=self.owner, until=self._lease_until()):
            raise LeaseLost("the account's lease was taken over by another process; this sync stopped")

    def _plan(
        self,
        conn: Connection,
        batch: Batch,
        enabled: frozenset[EventType],
        reconsider: frozenset[str],
        before: _PagePlan | None,
    ) -> _PagePlan:
        """Read what one batch needs and decide it: everything of a page but its writes.

        `before` is the page still being written (not committed): what it records, the
        orders it changes and the events it parks are read from it, not from `conn`,
        which may or may not see them yet. Where `conn` sees them already, they are the
        same: both are that page's own writes.
        """
        now = self.rt.now()
        account_id = self.account.id
        raw_texts: dict[str, str] = {}  # made once (a queue connector hands them over), for the log and the digest
        for item in batch.items:
            if item.event_id not in raw_texts:
                raw_texts[item.event_id] = item.text if item.text is not None else _raw_text(item.raw)
        digests = {item.event_id: d for item in batch.items
                   if (d := content_digest(item, raw_texts[item.event_id])) is not None}
        seen = self._recorded(conn, [item.event_id for item in batch.items], before)
        replays = find_replays(conn, account_id, batch.items, digests, seen, reconsider,
                               also=None if before is None else before.settled)
        rest = tuple(self._mapped(item) for item in batch.items if item.event_id not in replays)
        order_ids = {item.event.order_id for item in rest if item.event is not None}
        stored: dict[str, tuple[int | None, OrderState]] = {}
        if before is not None:
            changed = before.orders
            stored.update((oid, changed[oid]) for oid in order_ids if oid in changed)
        found, missing = self.known.take(order_ids - stored.keys())
        stored.update(found)
        stored.update(orders_repo.load_orders(conn, account_id, missing))
        items = expand_snapshots(rest, {oid: state for oid, (_pk, state) in stored.items()})
        if any(isinstance(item.event, OrderSeen) for item in rest):  # derived events have ids of their own
            seen = self._recorded(conn, [item.event_id for item in items], before)
        decided = {event_id: outcome for event_id, outcome in seen.items() if event_id not in reconsider}
        events = [item.event for item in items if item.event is not None]
        parked = received_repo.parked_events(conn, account_id, order_ids - stored.keys())
        if before is not None:
            _add_parked(parked, before.parked, order_ids - stored.keys())
        view = InboxView(
            orders={order_id: state for order_id, (_pk, state) in stored.items()},
            parked={order_id: [ParkedEvent(e) for e in evs] for order_id, evs in parked.items()},
            seen={event_id: Outcome(outcome) for event_id, outcome in decided.items()},
        )
        result = process(view, events, seller_id=self.account.seller_id, enabled=enabled)
        plan = _PagePlan(batch, now, stored, result)
        self._log_rows(plan, items, seen, decided, digests, raw_texts)
        self._replay_rows(plan, batch.items, replays)
        plan.history = _history_rows(result)
        plan.progress = self._with_pages(before, plan)
        return plan

    def _with_pages(self, *pages: _PagePlan | None) -> tuple[int, dict[str, dict[str, int]]]:
        """The run's figures as they will be once these pages are stored too (for its row)."""
        figures = SyncProgress(self.account.name, events=self.progress.events)
        figures.add(0, self.progress.counts)
        for page in pages:
            if page is not None:
                figures.add(len(page.batch.items), page.counts)
        return figures.events, figures.counts_json()

    def _recorded(self, conn: Connection, event_ids: list[str], before: _PagePlan | None) -> dict[str, str]:
        seen = received_repo.recorded_outcomes(conn, self.account.id, event_ids)
        if before is not None:
            seen.update((event_id, before.outcomes[event_id]) for event_id in event_ids if event_id in before.outcomes)
        return seen

    def _write(self, conn: Connection, plan: _PagePlan, before: _PagePlan | None) -> None:
        """Store a decided page: orders, log rows, replays, history, connector state, run progress."""
        account_id = self.account.id
        stored = plan.stored
        if before is not None and any(pk is None for pk, _state in stored.values()):
            stored = {oid: (before.pks[oid] if pk is None else pk, state) for oid, (pk, state) in stored.items()}
        plan.pks = self._write_orders(conn, stored, plan.result, plan.now)
        received_repo.insert_rows(conn, account_id, plan.new_rows, now=plan.now, run_id=self.progress.run_id)
        received_repo.update_outcomes(conn, account_id, plan.updates)
        received_repo.insert_rows(conn, account_id, plan.replay_rows, now=plan.now, run_id=self.progress.run_id)
        orders_repo.insert_history(conn, plan.pks, plan.history, now=plan.now)
        if plan.batch.state is not None:
            _save_state(conn, account_id, plan.batch.state, plan.now)
        self._write_run_progress(conn, *plan.progress)
        plan.stored = stored

    def _remember(self, plan: _PagePlan) -> None:
        """Committed: what the database holds now is what the next page may start from."""
        self.known.remember({oid: entry for oid, entry in plan.stored.items() if entry[0] is not None})
        self.known.remember({order_id: (plan.pks[order_id], state) for order_id, state in plan.result.orders.items()})

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

    def _log_rows(
        self,
        plan: _PagePlan,
        items: Sequence[Received],
        seen: dict[str, str],
        decided: dict[str, str],
        digests: dict[str, str],
        raw_texts: dict[str, str],
    ) -> None:
        """One row per event id with its final outcome: inserted, or updated where recorded."""
        result = plan.result
        new_rows, updates = plan.new_rows, plan.updates
        domain_results = iter(result.results)
        ids_here: set[str] = set()
        for item in items:
            if item.event is not None:
                res = next(domain_results)
                event_type, outcome, reason = str(item.event.type), str(res.outcome), res.reason
                plan.count(event_type, outcome)
                if not res.record:
                    continue
                normalized = codec.encode(item.event) if res.outcome is Outcome.PARKED else None
                order_id = item.event.order_id
                if res.outcome is Outcome.PARKED:
                    plan.parked.setdefault(order_id, []).append(item.event)
            else:
                event_type = UNKNOWN if item.unknown else "invalid"
                if item.event_id in ids_here or decided.get(item.event_id, "ignored") != "ignored":
                    plan.count(event_type, "duplicate")
                    continue
                outcome = "unknown" if item.unknown else "rejected"
                reason, normalized, order_id = item.problem, None, _order_id_of(item.raw)
                plan.count(event_type, outcome)
            ids_here.add(item.event_id)
            plan.outcomes[item.event_id] = outcome
            if item.event_id in seen:
                updates.append(received_repo.OutcomeUpdate(item.event_id, outcome, reason, normalized))
                continue
            row = received_repo.NewRow(
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
            new_rows.append(row)
            if row.digest is not None and row.event_type is not None and outcome in received_repo.FINAL_APPLIED:
                plan.settled.setdefault(row.digest, Settled(row.event_id, row.event_type, row.order_id))
        for res in result.resolved:
            updates.append(received_repo.OutcomeUpdate(res.event.event_id, str(res.outcome), res.reason, None))
            plan.outcomes[res.event.event_id] = str(res.outcome)
            plan.count(str(res.event.type), "unparked" if res.outcome is Outcome.APPLIED else str(res.outcome))

    def _replay_rows(self, plan: _PagePlan, items: Sequence[Received], replays: dict[str, Settled]) -> None:
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
            plan.outcomes[item.event_id] = duplicate
        for event_type, count in per_type.items():
            plan.count(event_type, duplicate, count)
        plan.replay_rows = list(rows.values())

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

    def _write_run_progress(self, conn: Connection, events: int, counts: dict[str, dict[str, int]]) -> None:
        conn.execute(update(sync_runs).where(sync_runs.c.id == self.progress.run_id).values(events=events, counts=counts))

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


@dataclass
class _PagePlan:
    """One page decided and not yet written: its rows, and what the next page must know of it.

    `stored` has the orders the page read, with their primary keys; a key is None for an
    order the page before created and had not committed yet (`_SyncRun._write` finds it
    in that page's `pks`). `outcomes`, `settled`, `orders` and `parked` are what the page
    records, as the next page would read them back once it committed.
    """

    batch: Batch
    now: datetime
    stored: dict[str, tuple[int | None, OrderState]]
    result: InboxResult
    new_rows: list[received_repo.NewRow] = field(default_factory=list)
    updates: list[received_repo.OutcomeUpdate] = field(default_factory=list)
    replay_rows: list[received_repo.NewRow] = field(default_factory=list)
    history: list[orders_repo.HistoryRow] = field(default_factory=list)
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # outcomes by event type, once stored
    progress: tuple[int, dict[str, dict[str, int]]] = (0, {})  # the run row's figures with this page
    outcomes: dict[str, str] = field(default_factory=dict)  # event id -> outcome recorded by this page
    settled: dict[str, Settled] = field(default_factory=dict)  # digest -> an event this page settles
    parked: dict[str, list[DomainEvent]] = field(default_factory=dict)  # order id -> events it parks
    pks: dict[str, int] = field(default_factory=dict)  # filled by the write: every order's primary key

    def count(self, event_type: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(event_type, Counter())[outcome] += n

    @property
    def orders(self) -> dict[str, tuple[int | None, OrderState]]:
        """The orders this page leaves changed or created, as the next page starts from them."""
        return {oid: (self.stored[oid][0] if oid in self.stored else None, state)
                for oid, state in self.result.orders.items()}


class _Writer:
    """Writes one decided page at a time on a thread of its own, in a transaction of its own.

    PostgreSQL answers each statement of a page from another process: meanwhile the
    storing thread decides the next page instead of waiting. At most one page is in
    flight, and it commits before the next one starts, so the pages still commit one
    after the other, each with its lease renewed first; `wait` hands back a committed
    page, or raises what its write raised.
    """

    def __init__(self, run: _SyncRun) -> None:
        self.run = run
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")
        self._page: Future[_PagePlan] | None = None
        self.in_flight: _PagePlan | None = None

    def start(self, plan: _PagePlan, before: _PagePlan | None) -> None:
        """Write `plan`, decided with `before` in flight: its keys fill those `plan` lacks."""
        self.in_flight = plan
        self._page = self._pool.submit(self._commit, plan, before)

    def wait(self) -> _PagePlan | None:
        """The page in flight once committed; None when there is none."""
        if self._page is None:
            return None
        page, self._page = self._page, None
        try:
            return page.result()
        finally:
            self.in_flight = None

    def close(self) -> None:
        if self._page is not None:
            self._page.exception()  # wait for it; whatever it raised was raised already, or is moot
        self._pool.shutdown(wait=True)

    def _commit(self, plan: _PagePlan, before: _PagePlan | None) -> _PagePlan:
        with unit_of_work(self.run.rt.engine) as conn:
            self.run._renew_lease(conn)
            self.run._write(conn, plan, before)
        return plan


def _replays_only(batch: Batch) -> bool:
    """A page the channel thread found replayed throughout: nothing to decide beside a write.

    Deciding it costs little, and beside a page in flight it lost a request again about
    5-8 % at 100,000 orders (bench/README.md, session 12): it is written alone.
    """
    return all(item.settled is not None for item in batch.items)


def _history_rows(result: InboxResult) -> list[orders_repo.HistoryRow]:
    return [
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


def _add_parked(parked: dict[str, list[DomainEvent]], more: dict[str, list[DomainEvent]], order_ids: set[str]) -> None:
    """Events the page in flight parks, added where the database may not show them yet (oldest first)."""
    for order_id in order_ids & more.keys():
        known = parked.get(order_id, [])
        ids = {event.event_id for event in known}
        merged = known + [event for event in more[order_id] if event.event_id not in ids]
        parked[order_id] = sorted(merged, key=lambda event: event.created_at)  # stable: as the log orders them


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

