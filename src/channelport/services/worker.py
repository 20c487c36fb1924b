"""The worker: syncs due accounts on a schedule, for as long as it runs.

It wakes early when an account or an import request changes, beats its heart into
the `workers` table, and on SIGTERM or SIGINT lets every sync finish its current batch
and release its lease. `worker restart` asks running workers to do exactly that and
start again, which is what a disturbed worker needs, without a terminal on its machine.
A watchdog stops a sync that made no progress for too long; the connector's timeouts
and bounded retries make sure the stop is seen.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from channelport import logs, metrics, systemd
from channelport.services.runtime import Runtime
from channelport.services.sync import SyncProgress, SyncReport, sync_account
from channelport.store import accounts as accounts_repo
from channelport.store import workers as repo
from channelport.store.db import read_only, unit_of_work

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
DATABASE_RETRY_SECONDS = 1.0  # pause between tries while the database is unavailable
STALE_AFTER = timedelta(seconds=30)


@dataclass
class WorkerOptions:
    interval: float = 60.0  # seconds between two syncs of one account
    concurrency: int = 4
    poll: float = 1.0  # how often to look for changes and due accounts
    watchdog: float = 900.0  # seconds without progress before a sync is told to stop
    max_cycles: int | None = None  # for tests: stop after this many scheduling rounds


@dataclass
class _Running:
    future: Future[SyncReport]
    stop: threading.Event
    last_progress: float = field(default_factory=time.monotonic)


class Worker:
    def __init__(self, rt: Runtime, options: WorkerOptions, *, on_report: Callable[[SyncReport], None] | None = None):
        self.rt = rt
        self.options = options
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()
        self.restart_requested = False
        self.on_report = on_report or (lambda _r: None)
        self.running: dict[int, _Running] = {}
        self._lock = threading.Lock()
        self._last_beat = 0.0
        self._marker: Any = None
        self._database_down_since: float | None = None
        self._orphaned: set[int] = set()  # accounts whose crashed sync could not release its lease

    def run(self) -> bool:
        """Run until stopped; returns True when a restart was requested."""
        with unit_of_work(self.rt.engine) as conn:
            repo.register(conn, worker_id=self.id, host=socket.gethostname(), pid=os.getpid(), now=self.rt.now())
        log.info("worker %s started (interval %ss, concurrency %s)", self.id, self.options.interval,
                 self.options.concurrency)
        systemd.ready("waiting for due accounts")
        cycles = 0
        with ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="worker-sync") as pool:
            while not self.stop.is_set():
                try:
                    self._tick(pool)
                    pause = self.options.poll
                    if self._database_down_since is not None:
                        log.warning("worker %s: the database is back", self.id)
                        self._database_down_since = None
                except SQLAlchemyError as exc:
                    pause = self._database_unavailable(exc)
                cycles += 1
                if self.options.max_cycles is not None and cycles >= self.options.max_cycles and not self.running:
                    break
                self.stop.wait(pause)
            self._shutdown()
        return self.restart_requested

    def _tick(self, pool: ThreadPoolExecutor) -> None:
        """One scheduling round: heartbeat when due, reap finished syncs, start due ones."""
        now_mono = time.monotonic()
        if now_mono - self._last_beat >= HEARTBEAT_SECONDS:
            self._heartbeat()
            self._last_beat = now_mono
        self._reap()
        self._watchdog()
        self._release_orphaned()
        with read_only(self.rt.engine) as conn:
            new_marker = repo.change_marker(conn)
        woke = new_marker != self._marker
        self._marker = new_marker
        self._schedule(pool, force_check=woke)

    def _release_orphaned(self) -> None:
        """Leases of this worker's syncs that crashed (typically: the database went away
        before the sync could release its lease). The sync is over, and the owner is this
        worker's alone, so releasing is safe; without it the account would wait for its
        lease to expire (`lease_seconds`) before anyone synced it again."""
        if not self._orphaned:
            return
        with unit_of_work(self.rt.engine) as conn:
            for account_id in sorted(self._orphaned):
                accounts_repo.release_lease(conn, account_id, owner=f"worker:{self.id}")
        self._orphaned.clear()

    def _database_unavailable(self, exc: SQLAlchemyError) -> float:
        """The database went away (restarted, network cut, locked past the busy timeout).

        The worker outlives it: running syncs fail on their own and are reaped, and the
        loop tries again after a pause instead of ending the process, so the accounts are
        synced again as soon as the database is back. Logged once per outage.
        Returns the pause before the next try.
        """
        if self._database_down_since is None:
            self._database_down_since = time.monotonic()
            first_line = (str(exc).strip().splitlines() or [""])[0]
            log.error("worker %s: database unavailable (%s: %s); retrying", self.id, type(exc).__name__, first_line)
        self._reap()
        return max(self.options.poll, DATABASE_RETRY_SECONDS)

    def request_stop(self) -> None:
        self.stop.set()

    # --- scheduling ----------------------------------------------------------------

    def _schedule(self, pool: ThreadPoolExecutor, *, force_check: bool) -> None:
        free = self.options.concurrency - len(self.running)
        if free <= 0:
            return
        now = self.rt.now()
        with read_only(self.rt.engine) as conn:
            due = repo.due_account_ids(conn, now=now, synced_before=now - timedelta(seconds=self.options.interval))
            accounts = [accounts_repo.get_account_by_id(conn, account_id) for account_id in due
                        if account_id not in self.running][:free]
        for account in accounts:
            stop = threading.Event()
            entry = _Running(future=None, stop=stop)  # type: ignore[arg-type]

            def progress(_p: SyncProgress, entry: _Running = entry) -> None:
                entry.last_progress = time.monotonic()

            entry.future = pool.submit(
                sync_account, self.rt, account, trigger="worker", owner=f"worker:{self.id}",
                on_progress=progress, stop=stop,
            )
            self.running[account.id] = entry

    def _reap(self) -> None:
        for account_id, entry in list(self.running.items()):
            if entry.future.done():
                del self.running[account_id]
                try:
                    report = entry.future.result()
                except Exception:  # noqa: BLE001
                    log.exception("sync of account %s crashed", account_id)
                    self._orphaned.add(account_id)
                    continue
                with logs.sync_log_context(account=report.account, run_id=report.run_id):
                    log.info("account %s: %s (%s events)%s", report.account, report.status, report.events,
                             f": {report.error}" if report.error else "")
                self.on_report(report)

    def _watchdog(self) -> None:
        limit = self.options.watchdog
        for account_id, entry in self.running.items():
            if not entry.stop.is_set() and time.monotonic() - entry.last_progress > limit:
                log.error("account %s: no progress for %.0f s; stopping its sync", account_id, limit)
                entry.stop.set()

    def _heartbeat(self) -> None:
        doing = ", ".join(str(a) for a in self.running) or None
        with unit_of_work(self.rt.engine) as conn:
            if repo.heartbeat(conn, self.id, now=self.rt.now(), doing=f"syncing accounts {doing}" if doing else None):
                log.info("worker %s: restart requested; finishing current batches", self.id)
                self.restart_requested = True
                self.stop.set()
        metrics.observe_heartbeat(running=len(self.running))
        systemd.watchdog(f"syncing accounts {doing}" if doing else "idle")

    def _shutdown(self) -> None:
        systemd.stopping(restarting=self.restart_requested)
        for entry in self.running.values():
            entry.stop.set()
        for entry in list(self.running.values()):
            try:
                entry.future.result(timeout=self.options.watchdog)
            except Exception:  # noqa: BLE001
                log.exception("a sync ended with an error during shutdown")
        self._reap()
        try:
            with unit_of_work(self.rt.engine) as conn:
                repo.heartbeat(conn, self.id, now=self.rt.now(), doing=None, state="stopped")
        except SQLAlchemyError as exc:  # its heartbeat goes stale instead: still shown as not running
            log.error("worker %s: could not record the stop: %s", self.id, exc)
        log.info("worker %s stopped", self.id)


@dataclass(frozen=True)
class WorkerStatus:
    id: str
    host: str
    pid: int
    state: str
    alive: bool
    heartbeat_at: datetime
    doing: str | None


def worker_status(rt: Runtime) -> list[WorkerStatus]:
    now = rt.now()
    with read_only(rt.engine) as conn:
        rows = repo.list_workers(conn)
    return [
        WorkerStatus(
            id=row.id, host=row.host, pid=row.pid,
            state="stale" if row.state == "running" and now - row.heartbeat_at > STALE_AFTER else row.state,
            alive=row.state == "running" and now - row.heartbeat_at <= STALE_AFTER,
            heartbeat_at=row.heartbeat_at, doing=row.doing,
        )
        for row in rows
    ]


def request_restart(rt: Runtime) -> int:
    with unit_of_work(rt.engine) as conn:
        return repo.request_restart(conn, alive_since=rt.now() - STALE_AFTER)
