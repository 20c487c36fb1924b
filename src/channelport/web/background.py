"""Manual syncs started from the web, run in a background pool and followed by polling.

A sync can take minutes, so the request that starts it only starts it: each account's
sync runs in a bounded thread pool, and the caller gets back the id of its sync run,
the `sync_runs` row the engine updates after every batch. Polling that row is all a
client needs for live progress, and it works from any process that reads the database.

A run id exists only once the engine has written the row, so each sync is given its
own lease owner and its run is found by that owner (no change to the engine needed); an account still waiting for a
free thread is "queued" until then. Skipping (inactive, locked) is decided as manual
sync decides it, with the same words.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from channelport.errors import ChannelportError
from channelport.services import journal, manual_sync
from channelport.services import runs as runs_service
from channelport.services.runtime import Runtime
from channelport.services.sync import SyncReport, new_owner, sync_account
from channelport.web.schemas import SyncBatch, SyncEntry, SyncState

log = logging.getLogger(__name__)

TRIGGER = "web"
KEEP_BATCHES = 200


@dataclass
class _Job:
    account: str
    skipped: str | None = None
    owner: str | None = None
    future: Future[SyncReport] | None = None
    run_id: int | None = None


class BackgroundSyncs:
    def __init__(self, rt: Runtime, *, concurrency: int = 4) -> None:
        self.rt = rt
        self.concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="web-sync")
        self._stop = threading.Event()
        self._batches: OrderedDict[str, list[_Job]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, names: Sequence[str] | None = None, *, wait: float = 10.0) -> SyncBatch:
        """Start syncing the named accounts (all when None); returns once the run ids are known.

        It waits at most `wait` seconds, and only for syncs that got a thread: one still
        queued behind others is reported as queued, its run id to follow.
        """
        jobs = []
        for account in manual_sync.chosen_accounts(self.rt, names):
            reason = manual_sync.skip_reason(account)
            if reason:
                jobs.append(_Job(account.name, skipped=reason))
                continue
            owner = new_owner(TRIGGER)  # unique per job: the engine writes it into the run row
            future = self._pool.submit(sync_account, self.rt, account, trigger=TRIGGER, owner=owner, stop=self._stop)
            jobs.append(_Job(account.name, owner=owner, future=future))
        batch_id = uuid.uuid4().hex
        with self._lock:
            self._batches[batch_id] = jobs
            while len(self._batches) > KEEP_BATCHES:
                self._batches.popitem(last=False)
        first = [job for job in jobs if job.future is not None][: self.concurrency]
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(self._awaiting_run_id(job) for job in first):
            time.sleep(0.02)
        view = self.view(batch_id)
        assert view is not None
        return view

    def view(self, batch_id: str) -> SyncBatch | None:
        with self._lock:
            jobs = self._batches.get(batch_id)
        if jobs is None:
            return None
        entries = [self._entry(job) for job in jobs]
        done = all(e.status not in (SyncState.queued, SyncState.running) for e in entries)
        return SyncBatch(id=batch_id, done=done, accounts=entries)

    def close(self) -> None:
        """Ask running syncs to stop after their current batch, and wait for them."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- one account ----------------------------------------------------------------

    def _awaiting_run_id(self, job: _Job) -> bool:
        if job.future is None or job.future.done():
            return False
        return self._run_id(job) is None

    def _run_id(self, job: _Job) -> int | None:
        """The run the engine wrote for this job, found by the job's own lease owner."""
        if job.run_id is None and job.owner is not None:
            try:
                latest = runs_service.list_runs(self.rt, account=job.account, limit=1)
            except ChannelportError:
                return None
            if latest and latest[0].owner == job.owner:
                job.run_id = int(latest[0].id)
        return job.run_id

    def _entry(self, job: _Job) -> SyncEntry:
        if job.skipped is not None:
            return SyncEntry(account=job.account, status=SyncState.skipped, run_id=None, events=0, counts={},
                             error=job.skipped)
        assert job.future is not None
        if job.future.done():
            return self._finished(job, job.future)
        run_id = self._run_id(job)
        if run_id is None:
            return SyncEntry(account=job.account, status=SyncState.queued, run_id=None, events=0, counts={},
                             error=None)
        try:
            row = journal.get_run(self.rt, run_id)
        except ChannelportError:
            return SyncEntry(account=job.account, status=SyncState.running, run_id=run_id, events=0, counts={},
                             error=None)
        return SyncEntry(account=job.account, status=_state(row.status), run_id=run_id, events=row.events,
                         counts=row.counts or {}, error=row.error)

    def _finished(self, job: _Job, future: Future[SyncReport]) -> SyncEntry:
        try:
            report = future.result()
        except Exception as exc:  # noqa: BLE001 - shown as a failed sync; the log has the rest
            log.error("web sync of %s crashed", job.account, exc_info=exc)
            return SyncEntry(account=job.account, status=SyncState.failed, run_id=job.run_id, events=0, counts={},
                             error="the sync ended with an internal error; see the server log")
        return SyncEntry(account=report.account, status=_state(report.status), run_id=report.run_id,
                         events=report.events, counts=report.counts, error=report.error)


def _state(status: str) -> SyncState:
    try:
        return SyncState(status)
    except ValueError:
        return SyncState.failed
