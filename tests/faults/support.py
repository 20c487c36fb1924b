"""Helpers of the fault suite: syncing, settling the channel, and waiting with a deadline."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from channelport.services import manual_sync
from channelport.services.runtime import Runtime
from channelport.services.sync import SyncReport
from channelport.simulator import Marketplace
from channelport.store.db import read_only, unit_of_work
from channelport.store.tables import channel_accounts, received_events, sync_runs

NAMES = {"shop-one": "S-1001", "shop-two": "S-2002"}  # the `connected` fixture's accounts
IN_CI = os.environ.get("CI", "").lower() == "true"


def sync_all(rt: Runtime) -> dict[str, SyncReport]:
    """One manual sync of every account, the reports by account name."""
    return {r.account: r for r in manual_sync.sync_accounts(rt, concurrency=2)}


def channelport_cmd(*args: str) -> list[str]:
    """The real CLI in a child process (CHANNELPORT_HOME and the database URL come from the env)."""
    return [sys.executable, "-m", "channelport", *args]


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, step: float = 0.05) -> Any:
    """Poll until `predicate` returns something truthy (returned) or the deadline passes (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(step)
    return None


def settle(market: Marketplace) -> None:
    """Wait until the server is quiet, then make in-flight events visible again.

    What the visibility timeout does, without its wait: a dead or failed client's
    pulled-but-unacknowledged events come back. Waiting for quiet first matters after a
    kill: a request the dead process left in the server's buffers, handled late, would
    put a page in flight again after the release.
    """
    seen = -1
    while seen != market.stats()["requests"]:
        seen = market.stats()["requests"]
        time.sleep(0.2)
    market.expire_inflight()


def expire_leases(rt: Runtime) -> None:
    """What lease expiry does after `lease_seconds` (tested on its own), without the wait."""
    with unit_of_work(rt.engine) as conn:
        conn.execute(update(channel_accounts).values(lease_owner=None, lease_expires_at=None))


def received_count(rt: Runtime) -> int:
    with read_only(rt.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(received_events)) or 0)


def run_statuses(rt: Runtime) -> list[str]:
    with read_only(rt.engine) as conn:
        return list(conn.scalars(select(sync_runs.c.status).order_by(sync_runs.c.id)))
