"""The demo: a merchant loses a channel connection for a day and gets every order back.

Runs on a throw-away SQLite database and an in-process marketplace simulator with three
accounts (one locked): trade, sync, an outage that loses events, a request of the order
data again from the outage day at 00:00 for all five events, and a manual sync that
brings everything back. It ends by comparing every account's export with the channel's
truth, which is the same check a merchant's auditor would make.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from channelport.domain.instants import utc_to_local
from channelport.services import accounts, event_imports, manual_sync
from channelport.services.installation import init_installation
from channelport.services.orders import export_orders
from channelport.services.runtime import open_runtime
from channelport.services.sync import SyncProgress, SyncReport
from channelport.services.verify import Comparison, compare
from channelport.settings import Settings

DEMO_ACCOUNTS = (
    ("kaufland-main", "S-1001", "demo-token-kaufland", None),
    ("otto-de", "S-2002", "demo-token-otto", None),
    ("ebay-de", "S-3003", "demo-token-ebay", "Inventur: stocktaking until Monday"),
)
FAST_RETRIES = {"retry_deadline": "2", "max_retry_wait": "0.5", "timeout": "10", "connect_timeout": "2"}


@dataclass(frozen=True)
class DemoAccountResult:
    name: str
    status: str
    comparison: Comparison | None
    note: str


@dataclass(frozen=True)
class DemoResult:
    accounts: list[DemoAccountResult]
    seconds: float
    events: int
    outage_day: str

    @property
    def ok(self) -> bool:
        return all(a.comparison is None or a.comparison.exact for a in self.accounts)


Step = Callable[[str], None]


def run_demo(
    *,
    home: Path | None = None,
    seed: int = 1,
    orders_per_day: float = 120,
    on_step: Step = lambda _s: None,
    on_progress: Callable[[SyncProgress], None] | None = None,
) -> DemoResult:
    from channelport.simulator import Marketplace, serve

    started = time.monotonic()
    home = home or Path(tempfile.mkdtemp(prefix="channelport-demo-"))
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'demo.db'}", secret_key=None)
    init_installation(settings)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = (now - timedelta(days=8)).replace(hour=5, minute=0, second=0)
    market = Marketplace(
        seed=seed,
        start=start,
        sellers={seller: token for _n, seller, token, _l in DEMO_ACCOUNTS},
        visibility_timeout=60.0,
        orders_per_day=orders_per_day,
    )
    rt = open_runtime(settings)
    events = 0
    try:
        with serve(market, port=0) as server:
            on_step(f"Marketplace simulator listening at {server.url} with {len(DEMO_ACCOUNTS)} seller accounts.")
            for name, seller, token, lock in DEMO_ACCOUNTS:
                accounts.add_account(rt, name=name, kind="event-api", url=server.url, seller_id=seller, token=token,
                                     settings=FAST_RETRIES)
                if lock:
                    accounts.lock_account(rt, name, reason=lock)
                event_imports.request_imports(rt, name, day=utc_to_local(start, "Europe/Berlin").date())
            on_step("Accounts connected; all five events requested from the first trading day (00:00).")

            def sync(label: str) -> list[SyncReport]:
                nonlocal events
                reports = manual_sync.sync_accounts(rt, concurrency=3, on_progress=on_progress)
                events += sum(r.events for r in reports)
                summary = ", ".join(f"{r.account} {r.status}" + (f" ({r.events} events)" if r.events else "")
                                    for r in reports)
                on_step(f"{label}: {summary}")
                return reports

            market.advance(timedelta(days=4))
            on_step(f"Four days of trading: {sum(market.order_count(s) for _n, s, _t, _l in DEMO_ACCOUNTS)} orders.")
            sync("Manual sync")

            outage_start = market.now
            market.faults.set(outage=True)
            sync("Manual sync during the channel outage")
            market.faults.set(outage=False, lose_probability=1.0)
            market.advance(timedelta(days=1))
            market.faults.reset()
            market.advance(timedelta(days=1))
            on_step("The outage lost a day of events on the channel side; trading went on.")
            sync("Manual sync after the outage")
            gap = _compare(rt, market, "kaufland-main", "S-1001")
            on_step(f"Gap visible: kaufland-main differs from the channel in {gap.mismatches} orders.")

            outage_day = utc_to_local(outage_start, "Europe/Berlin").date()
            for name, _seller, _token, lock in DEMO_ACCOUNTS:
                event_imports.request_imports(rt, name, day=outage_day)
            on_step(f"Order data requested again from {outage_day} 00:00 (Europe/Berlin) for all five events.")
            reports = {r.account: r for r in sync("Manual sync")}

            results = []
            for name, seller, _token, lock in DEMO_ACCOUNTS:
                report = reports[name]
                if report.status == "skipped":
                    results.append(DemoAccountResult(name, "skipped", None, report.error or ""))
                    continue
                results.append(DemoAccountResult(name, report.status, _compare(rt, market, name, seller), ""))
    finally:
        rt.close()
    return DemoResult(results, time.monotonic() - started, events, str(outage_day))


def _compare(rt, market, name: str, seller: str) -> Comparison:  # type: ignore[no-untyped-def]
    return compare(export_orders(rt, accounts=[name]), market.truth(seller, account=name))
