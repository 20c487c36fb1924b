"""Soak run: a simulated channel with random faults, several accounts, and kill -9s, for a while.

    make soak                 # about 10 minutes
    make soak DURATION=60     # a short run
    .venv/bin/python bench/soak.py --duration 180 --accounts 4 --seed 1

Every round the channel trades on, a random set of faults is switched on (429 storms,
500s with HTML bodies, truncated pages, answers cut off mid-body, duplicates, stale and
out-of-order deliveries, unknown and malformed events, outages, slow answers), sometimes
the accounts request a replay, and a real `channelport sync --all` process runs; about
half of them are killed with SIGKILL at a random moment. At the end the faults are
switched off, one last sync runs to completion and every account's export is compared
with the channel's truth. Printed: events processed, faults injected, kills survived,
orders lost and duplicated (both must be 0; the exit code is 1 otherwise, or when any
order differs from the truth).

It is not part of `make test`: it runs for minutes, and its value is the long random walk.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

FAULT_MENU: dict[str, dict[str, Any]] = {
    "429 storm": {"rate_limit_probability": 0.5, "retry_after": 0.05},
    "500 with HTML bodies": {"error_probability": 0.3},
    "truncated pages": {"truncate_probability": 0.3},
    "cut off mid-body": {"disconnect_probability": 0.3},
    "duplicates": {"duplicate_probability": 0.4},
    "stale updates": {"stale_probability": 0.4},
    "updates before their order": {"hold_new_seconds": 0.3},
    "unknown events": {"unknown_event_probability": 0.1},
    "malformed events": {"malformed_event_probability": 0.1},
    "slow answers": {"delay_seconds": 0.05},
    "outage": {"outage": True},
}
START = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
FAST = {"retry_deadline": "3", "max_retry_wait": "0.3", "timeout": "5", "connect_timeout": "2"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", 600)),
                        help="seconds of faults and kills before the final check (default 600, or $DURATION)")
    parser.add_argument("--accounts", type=int, default=4, help="accounts, one seller each (default 4)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000, help="random seed (default: time)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="channelport-soak-") as home:
        os.environ["CHANNELPORT_HOME"] = home
        os.environ["CHANNELPORT_DATABASE_URL"] = args.database_url or f"sqlite:///{Path(home) / 'channelport.db'}"
        os.environ.pop("CHANNELPORT_SECRET_KEY", None)
        return soak(args)


def soak(args: argparse.Namespace) -> int:
    from channelport.services import accounts, event_imports
    from channelport.services.installation import init_installation
    from channelport.services.orders import export_orders
    from channelport.services.runtime import open_runtime, utc_now
    from channelport.services.verify import compare
    from channelport.settings import Settings
    from channelport.simulator import Marketplace, serve
    from channelport.store.db import read_only, unit_of_work
    from channelport.store.tables import channel_accounts, sync_runs

    rng = random.Random(args.seed)
    sellers = {f"S-{1001 + i}": f"soak-token-{i}" for i in range(args.accounts)}
    market = Marketplace(seed=args.seed, start=START, sellers=sellers, visibility_timeout=30.0, orders_per_day=60)
    init_installation(Settings())
    rt = open_runtime(clock=utc_now)
    names = {f"soak-{i + 1}": seller for i, seller in enumerate(sellers)}
    cmd = [sys.executable, "-m", "channelport", "sync", "--all"]
    started = time.monotonic()
    rounds = kills = completed = 0
    faults_used: dict[str, int] = {}
    with serve(market, port=0) as server:
        for name, seller in names.items():
            accounts.add_account(rt, name=name, kind="event-api", url=server.url, seller_id=seller,
                                 token=sellers[seller], settings=FAST)
            event_imports.request_imports(rt, name, day=START.date())
        print(f"soak: seed {args.seed}, {args.accounts} accounts, {args.duration:.0f} s, "
              f"database {os.environ['CHANNELPORT_DATABASE_URL'].split('?')[0]}", flush=True)
        while time.monotonic() - started < args.duration:
            rounds += 1
            market.faults.reset()
            chosen = rng.sample(sorted(FAULT_MENU), k=rng.randint(0, 3))
            if "outage" in chosen and rng.random() < 0.7:
                chosen.remove("outage")  # outages are rarer: a round of nothing but 503s proves little
            for fault in chosen:
                market.faults.set(**FAULT_MENU[fault])
                faults_used[fault] = faults_used.get(fault, 0) + 1
            market.advance(timedelta(hours=rng.randint(1, 12)))
            if rng.random() < 0.15:
                for name in rng.sample(sorted(names), k=rng.randint(1, len(names))):
                    event_imports.request_imports(rt, name, day=START.date() + timedelta(days=rng.randint(0, 5)))
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.3, 4.0))
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                proc.wait()
            else:
                try:
                    proc.wait(timeout=120)
                    completed += 1
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    kills += 1
            with unit_of_work(rt.engine) as conn:  # what lease expiry does, without its wait
                conn.execute(update(channel_accounts).values(lease_owner=None, lease_expires_at=None))
            _settle(market)
            if rounds % 10 == 0:
                print(f"  {time.monotonic() - started:6.0f} s: {rounds} rounds, {kills} kills", flush=True)
        market.faults.reset()
        _settle(market)
        final = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if final.returncode != 0:
            final = subprocess.run(cmd, capture_output=True, text=True, timeout=900)  # one retry: a leftover page
        lost = duplicated = differing = imported = channel = 0
        for name, seller in names.items():
            result = compare(export_orders(rt, accounts=[name]), market.truth(seller, account=name))
            lost += len(result.missing)
            duplicated += len(result.duplicates) + len(result.extra)
            differing += len(result.differing)
            imported += result.imported_orders
            channel += result.channel_orders
            if not result.exact:
                print(f"  {name}: " + "; ".join(result.describe(limit=5)), flush=True)
        with read_only(rt.engine) as conn:
            events = int(conn.scalar(select(func.coalesce(func.sum(sync_runs.c.events), 0))) or 0)
        fired = sum(market.faults.fired.values())
    rt.close()
    elapsed = time.monotonic() - started
    print(f"ran {elapsed:.0f} s ({elapsed / 60:.1f} min), seed {args.seed}, {args.accounts} accounts, {rounds} rounds")
    print(f"events processed:     {events}")
    print(f"faults injected:      {fired} requests hit ({', '.join(f'{k} {v}' for k, v in sorted(market.faults.fired.items()))})")
    print(f"fault rounds:         {', '.join(f'{k} x{v}' for k, v in sorted(faults_used.items()))}")
    print(f"kills survived:       {kills} (kill -9 of `channelport sync --all`; {completed} runs completed)")
    print(f"orders:               {imported} imported, {channel} on the channel")
    print(f"orders lost:          {lost}")
    print(f"orders duplicated:    {duplicated}")
    print(f"orders differing:     {differing}")
    print(f"final sync exit code: {final.returncode}")
    ok = lost == 0 and duplicated == 0 and differing == 0 and final.returncode == 0
    print("SOAK PASSED" if ok else "SOAK FAILED")
    return 0 if ok else 1


def _settle(market: Any) -> None:  # noqa: ANN401
    """Wait for a quiet server, then release in-flight events (the visibility timeout, without its wait)."""
    seen = -1
    while seen != market.stats()["requests"]:
        seen = market.stats()["requests"]
        time.sleep(0.2)
    market.expire_inflight()


if __name__ == "__main__":
    sys.exit(main())
