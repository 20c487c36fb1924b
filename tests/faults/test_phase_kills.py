"""kill -9 of `channelport sync --all` at chosen phases of the sync, again and again.

tests/sync/test_crash.py kills at random moments; this test aims. The simulator's tap
(`Marketplace.add_tap`) tells the test, from inside the channel's server, the moment a
request of the syncing process arrives or is answered, and the test sends SIGKILL right
then, so each phase of DESIGN.md's "one sync, step by step" is hit several times:

| phase       | the process dies ...                                                   |
|-------------|------------------------------------------------------------------------|
| subscribe   | while the channel has not yet accepted its event imports               |
| subscribed  | after the channel accepted them, before it could mark them delivered   |
| pull        | with a page in flight, nothing of it committed                         |
| commit      | 5-100 ms after receiving a page: decoding, applying, committing        |
| ack         | after committing, while its acknowledgement has not reached the channel |
| acked       | after the channel applied the acknowledgement, before it saw the answer |
| finish      | on the empty page that ends the sync: writing its run row, releasing    |

Between kills the channel trades on and the accounts request a replay (so there is work,
and a subscription, every time). At the end one sync runs to completion and the export
must equal the truth: nothing lost, nothing doubled.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from channelport.services import accounts, event_imports
from channelport.simulator import Marketplace
from channelport.store.db import read_only
from channelport.store.tables import sync_runs
from tests.faults.support import NAMES, channelport_cmd, expire_leases, run_statuses, settle
from tests.sync.conftest import SELLERS, mismatches

KILLS_PER_PHASE = int(os.environ.get("CHANNELPORT_TEST_PHASE_KILLS", "3"))
# phase -> (operation, stage, only on an empty page?)
PHASES: dict[str, tuple[str, str, bool]] = {
    "subscribe": ("subscribe", "received", False),
    "subscribed": ("subscribe", "answered", False),
    "pull": ("pull", "answered", False),
    "commit": ("pull", "answered", False),
    "ack": ("ack", "received", False),
    "acked": ("ack", "answered", False),
    "finish": ("pull", "answered", True),
}


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """SQLite: test_crash.py already kills on both backends; this one is about the phases."""
    return f"sqlite:///{tmp_path / 'channelport.db'}"


@dataclass
class Assassin:
    """Kills the process armed for a seller at the armed phase, from inside the channel's server."""

    rng: random.Random
    armed: dict[str, tuple[str, subprocess.Popen[bytes]]] = field(default_factory=dict)  # seller -> (phase, proc)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, seller: str, phase: str, proc: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.armed[seller] = (phase, proc)

    def disarm(self) -> None:
        with self.lock:
            self.armed.clear()

    def __call__(self, operation: str, stage: str, seller: str, answer: Any) -> None:  # noqa: ANN401 - a tap
        with self.lock:
            if seller not in self.armed:
                return
            phase, proc = self.armed[seller]
            wanted_op, wanted_stage, empty_only = PHASES[phase]
            if (operation, stage) != (wanted_op, wanted_stage):
                return
            if empty_only != (answer is not None and b'"eventList":[]' in answer):
                return
            del self.armed[seller]  # once per process
        if phase == "commit":  # let the page arrive and the transaction get going first
            threading.Timer(self.rng.uniform(0.005, 0.1), _kill, args=(proc,)).start()
        else:
            _kill(proc)


def last_run_open(rt, name: str) -> bool:  # type: ignore[no-untyped-def]
    account_id = accounts.get_account(rt, name).id
    with read_only(rt.engine) as conn:
        status = conn.scalar(select(sync_runs.c.status).where(sync_runs.c.account_id == account_id)
                             .order_by(sync_runs.c.id.desc()).limit(1))
    return status == "running"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_kill_minus_nine_in_every_phase_of_the_sync(rt, market: Marketplace, server):
    """One `channelport sync ACCOUNT` process per account at a time, each armed for its own
    phase, so two kills land per round (the accounts share nothing but the database)."""
    market.advance(timedelta(days=4))
    for name, seller in NAMES.items():
        accounts.add_account(rt, name=name, kind="event-api", url=server.url, seller_id=seller,
                             token=SELLERS[seller], settings={"retry_deadline": "5"})
    rng = random.Random(20261127)
    assassin = Assassin(rng)
    market.add_tap(assassin)
    wanted = [phase for phase in PHASES for _ in range(KILLS_PER_PHASE)]
    landed: dict[str, int] = dict.fromkeys(PHASES, 0)
    try:
        for _round in range(3 * len(wanted)):  # a kill that lands after the sync ended is tried again
            todo = [p for p in PHASES for _ in range(KILLS_PER_PHASE - landed[p])]
            if not todo:
                break
            market.advance(timedelta(hours=rng.randint(2, 10)))
            procs: list[tuple[str, subprocess.Popen[bytes]]] = []
            for (name, seller), phase in zip(NAMES.items(), (todo[0], todo[-1]), strict=True):
                # a replay: work for every phase, and a subscription to kill in
                event_imports.request_imports(rt, name, day=market.now.date() - timedelta(days=rng.randint(0, 1)))
                proc = subprocess.Popen(channelport_cmd("sync", name), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                assassin.arm(seller, phase, proc)
                procs.append((phase, proc))
            for (name, _seller), (phase, proc) in zip(NAMES.items(), procs, strict=True):
                if proc.wait(timeout=120) == -signal.SIGKILL and last_run_open(rt, name):
                    landed[phase] += 1  # killed, and mid-sync: its run row was left open
            assassin.disarm()
            expire_leases(rt)
            settle(market)
    finally:
        market.remove_tap(assassin)
    assert all(n >= KILLS_PER_PHASE for n in landed.values()), landed
    market.advance(timedelta(days=1))
    for name in NAMES:  # and a last replay from the first day, so every order is delivered once more
        event_imports.request_imports(rt, name, day=date(2026, 11, 1))
    final = subprocess.run(channelport_cmd("sync", "--all"), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stdout + final.stderr
    for name, seller in NAMES.items():
        assert mismatches(rt, market, seller, name) == []
    statuses = run_statuses(rt)
    assert "running" not in statuses and statuses.count("interrupted") >= sum(landed.values())
