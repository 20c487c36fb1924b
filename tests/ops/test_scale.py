"""Scale-out proof: worker processes against one PostgreSQL, one killed with SIGKILL mid-sync.

Three `channelport worker run` processes, each in its own process group (as on separate
machines: nothing shared but the database URL and the channel), sync 20 accounts of one
simulated marketplace while it keeps trading. A worker that holds a running sync is
killed with SIGKILL (its whole process group); its leases expire, the events it pulled
but never acknowledged become visible again, and the surviving workers take its accounts
over. At the end:

- every account has a successful sync, and its export equals the channel's truth
  (nothing lost, nothing doubled);
- the sync journal (`sync_runs`) shows no two runs of one account overlapping in time;
- the kill really landed mid-sync (the victim's run was closed as interrupted), and a
  survivor synced that account afterwards.

The suite runs the small version (20 accounts, 3 workers, 1 kill, about a minute);
`make scale-test` runs a longer one (more trading, several kills, a replacement worker
started whenever fewer than two are left) and prints the figures. The numbers come from
CHANNELPORT_SCALE_* environment variables.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channelport.services import accounts, event_imports
from channelport.services.orders import export_orders
from channelport.services.runtime import open_runtime, utc_now
from channelport.services.verify import compare
from channelport.simulator import Marketplace, serve
from channelport.store.db import read_only
from channelport.store.tables import channel_accounts, sync_runs

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

START = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
FAST = {"retry_deadline": "5", "max_retry_wait": "0.3", "timeout": "5", "connect_timeout": "2"}


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(f"CHANNELPORT_SCALE_{name}", default))


ACCOUNTS = int(_setting("ACCOUNTS", 20))
WORKERS = int(_setting("WORKERS", 3))
KILLS = int(_setting("KILLS", 1))
ROUNDS = int(_setting("ROUNDS", 6))  # trading rounds while the workers run
ROUND_SECONDS = _setting("ROUND_SECONDS", 1.5)
LEASE_SECONDS = _setting("LEASE_SECONDS", 6)
REPORT = os.environ.get("CHANNELPORT_SCALE_REPORT")


@pytest.fixture
def database_url(pg_url: str) -> str:  # PostgreSQL only: this is the scale-out setup
    return pg_url


@dataclass
class Fleet:
    """The worker processes, each the leader of its own process group."""

    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        out = open(self.logs / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "channelport", "worker", "run", "--interval", "2", "--concurrency", "4",
             "--log-format", "json"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, process_group=0,
        )
        self.procs.append(proc)
        return proc

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: as if the machine went away
        proc.wait(timeout=30)
        self.killed.append(proc.pid)

    def stop(self) -> list[int]:
        for proc in self.alive():
            proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes.append(proc.wait())
        return codes


def owner_pid(owner: str | None) -> int | None:
    """`worker:<host>:<pid>:<suffix>` -> pid."""
    parts = (owner or "").split(":")
    return int(parts[2]) if len(parts) >= 4 and parts[0] == "worker" and parts[2].isdigit() else None


def runs(rt: Any) -> list[Any]:  # noqa: ANN401
    with read_only(rt.engine) as conn:
        return list(conn.execute(
            select(sync_runs, channel_accounts.c.name)
            .join(channel_accounts, channel_accounts.c.id == sync_runs.c.account_id)
            .order_by(sync_runs.c.account_id, sync_runs.c.started_at, sync_runs.c.id)
        ))


def overlaps(all_runs: list[Any]) -> list[str]:
    """Pairs of runs of one account where the later one started before the earlier one ended."""
    found = []
    by_account: dict[str, list[Any]] = {}
    for run in all_runs:
        by_account.setdefault(run.name, []).append(run)
    for name, account_runs in by_account.items():
        for earlier, later in zip(account_runs, account_runs[1:]):
            if earlier.finished_at is None or earlier.finished_at > later.started_at:
                found.append(f"{name}: run {earlier.id} ({earlier.started_at}-{earlier.finished_at}) "
                             f"and run {later.id} (from {later.started_at})")
    return found


def wait_until(predicate: Any, timeout: float, step: float = 0.02) -> bool:  # noqa: ANN401
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_worker_processes_share_one_postgresql_and_survive_a_kill(rt, tmp_path):
    began = time.monotonic()
    sellers = {f"S-{5000 + i}": f"scale-token-{i:03d}" for i in range(ACCOUNTS)}
    names = {seller: f"shop-{i:03d}" for i, seller in enumerate(sellers)}
    market = Marketplace(seed=29, start=START, sellers=sellers, visibility_timeout=3.0, orders_per_day=16)
    market.faults.set(delay_seconds=0.05)  # every answer takes a moment: syncs last long enough to be killed
    market.advance(timedelta(days=2))
    ctl = open_runtime(clock=utc_now)  # the workers write wall-clock times; so do we
    fleet = Fleet(env={**os.environ, "PYTHONUNBUFFERED": "1", "CHANNELPORT_LEASE_SECONDS": str(LEASE_SECONDS)},
                  logs=tmp_path)
    victims: list[tuple[int, list[str]]] = []  # (pid, accounts it was syncing when killed)
    with serve(market, port=0) as server:
        for seller, token in sellers.items():
            accounts.add_account(ctl, name=names[seller], kind="event-api", url=server.url, seller_id=seller,
                                 token=token, settings=FAST)
            event_imports.request_imports(ctl, names[seller], day=date(2026, 11, 1))
        try:
            for _ in range(WORKERS):
                fleet.start()
            kill_rounds = _kill_schedule(KILLS, ROUNDS)
            for round_no in range(ROUNDS + 1):
                for _ in range(kill_rounds.count(round_no)):
                    victims.append(_kill_one_mid_sync(ctl, fleet))
                    if len(fleet.alive()) < 2:
                        fleet.start()
                time.sleep(ROUND_SECONDS)
                if round_no < ROUNDS:
                    market.advance(timedelta(hours=8))  # new orders and updates for every seller
            last_trade = utc_now()

            def converged() -> bool:
                if any(market.queue_size(seller) for seller in sellers):
                    return False
                done = {r.name for r in runs(ctl) if r.status == "succeeded" and r.started_at > last_trade}
                return done >= set(names.values())

            assert wait_until(converged, timeout=90, step=0.5), "the surviving workers did not catch up"
        finally:
            exit_codes = fleet.stop()
        comparisons = {name: compare(export_orders(ctl, accounts=[name]), market.truth(seller, account=name))
                       for seller, name in names.items()}

    journal = runs(ctl)
    ctl.close()
    found_overlaps = overlaps(journal)
    statuses = Counter(r.status for r in journal)
    workers_seen = {owner_pid(r.owner) for r in journal} - {None}
    figures = {
        "accounts": ACCOUNTS,
        "workers_started": len(fleet.procs),
        "kills": len(fleet.killed),
        "syncs_killed_mid_run": sum(len(names) for _pid, names in victims),
        "runs": len(journal),
        "runs_by_status": dict(sorted(statuses.items())),
        "workers_that_synced": len(workers_seen),
        "overlaps": len(found_overlaps),
        "accounts_synced": len({r.name for r in journal if r.status == "succeeded"}),
        "orders_on_channel": sum(c.channel_orders for c in comparisons.values()),
        "orders_imported": sum(c.imported_orders for c in comparisons.values()),
        "exports_equal_truth": all(c.exact for c in comparisons.values()),
        "seconds": round(time.monotonic() - began, 1),
    }
    print("\nscale test:", json.dumps(figures, indent=2))
    if REPORT:
        Path(REPORT).write_text(json.dumps(figures, indent=2) + "\n")

    assert found_overlaps == [], found_overlaps
    for name, comparison in comparisons.items():
        assert comparison.exact, (name, comparison.describe())
    assert figures["accounts_synced"] == ACCOUNTS
    assert len(victims) == KILLS == len(fleet.killed)
    # each kill landed mid-sync: the victim's runs were left running, then closed by the next run of that account,
    # which a survivor made
    for pid, names in victims:
        for name in names:
            theirs = [r for r in journal if r.name == name and owner_pid(r.owner) == pid]
            assert theirs[-1].status == "interrupted", (pid, name, [r.status for r in theirs])
            later = [r for r in journal if r.name == name and r.status == "succeeded"
                     and owner_pid(r.owner) not in fleet.killed and r.started_at > theirs[-1].started_at]
            assert later, f"no survivor synced {name} after worker {pid} was killed"
    assert len(workers_seen) >= WORKERS, "every worker should have taken part"
    survivors = [code for proc, code in zip(fleet.procs, exit_codes) if proc.pid not in fleet.killed]
    assert survivors and all(code == 0 for code in survivors), exit_codes


def _kill_schedule(kills: int, rounds: int) -> list[int]:
    """Rounds in which to kill: the first during the initial import, the rest spread over the trading."""
    if kills <= 0:
        return []
    return [0] + [1 + (i * rounds) // kills for i in range(kills - 1)]


def _running_syncs(rt: Any) -> list[tuple[int | None, str]]:  # noqa: ANN401
    """(worker pid, account) of every run in the journal that is still running, longest first."""
    with read_only(rt.engine) as conn:
        rows = conn.execute(
            select(sync_runs.c.owner, channel_accounts.c.name)
            .join(channel_accounts, channel_accounts.c.id == sync_runs.c.account_id)
            .where(sync_runs.c.status == "running")
            .order_by(sync_runs.c.events.desc())  # one with events in flight, where there is one
        ).all()
    return [(owner_pid(owner), name) for owner, name in rows]


def _kill_one_mid_sync(rt: Any, fleet: Fleet) -> tuple[int, list[str]]:  # noqa: ANN401
    """SIGKILL the process group of a live worker while it is in the middle of a sync.

    The candidate is frozen first (SIGSTOP), and only killed if the journal still shows a
    run of it running; otherwise it is thawed and another moment chosen. So the kill
    always lands mid-sync, however short the syncs are.
    """
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = {p.pid: p for p in fleet.alive()}
        candidates = [pid for pid, _name in _running_syncs(rt) if pid in alive]
        if not candidates:
            time.sleep(0.02)
            continue
        proc = alive[candidates[0]]
        os.killpg(proc.pid, signal.SIGSTOP)
        syncing = [name for pid, name in _running_syncs(rt) if pid == proc.pid]
        if syncing:
            fleet.kill(proc)
            return proc.pid, syncing
        os.killpg(proc.pid, signal.SIGCONT)
    raise AssertionError("no worker was ever caught in the middle of a sync")
