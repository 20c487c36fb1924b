"""Manual sync (manueller Abgleich): every active account at once, in a bounded pool.

Inactive and locked accounts are skipped and reported with the reason; an account that
another process is syncing is reported busy. One failing account never stops the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from channelport.domain.accounts import Account
from channelport.services.accounts import account_or_fail
from channelport.services.installation import require_order_package
from channelport.services.runtime import Runtime
from channelport.services.sync import ProgressCallback, SyncReport, new_owner, sync_account
from channelport.store import accounts as accounts_repo
from channelport.store.db import read_only

log = logging.getLogger(__name__)


def chosen_accounts(rt: Runtime, names: Sequence[str] | None) -> list[Account]:
    with read_only(rt.engine) as conn:
        if not names:
            return accounts_repo.list_accounts(conn)
        return [account_or_fail(conn, name) for name in dict.fromkeys(names)]


def skip_reason(account: Account) -> str | None:
    if not account.active:
        return "inactive"
    if account.locked:
        return f"locked: {account.lock_reason}"
    return None


def sync_accounts(
    rt: Runtime,
    *,
    names: Sequence[str] | None = None,
    trigger: str = "manual",
    concurrency: int = 4,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> list[SyncReport]:
    """Sync the named accounts (all when None); reports come back in account order.

    Without the order package nothing is synced at all: refused up front, with one line.
    """
    with read_only(rt.engine) as conn:
        require_order_package(accounts_repo.load_packages(conn) or frozenset())
    accounts = chosen_accounts(rt, names)
    reports: dict[str, SyncReport] = {}
    runnable = []
    for account in accounts:
        reason = skip_reason(account)
        if reason:
            reports[account.name] = SyncReport(account.name, "skipped", error=reason)
        else:
            runnable.append(account)
    owner_base = new_owner(trigger)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync") as pool:
        futures = {
            account.name: pool.submit(
                sync_account,
                rt,
                account,
                trigger=trigger,
                owner=f"{owner_base}:{account.name}",
                on_progress=on_progress,
                stop=stop,
            )
            for account in runnable
        }
        for name, future in futures.items():
            reports[name] = _report_of(name, future)
    return [reports[account.name] for account in accounts]


def _report_of(name: str, future: Future[SyncReport]) -> SyncReport:
    """The account's report; a sync that raised (its database went away mid-run, so it
    could not even write its own run row) is reported failed, and the other accounts'
    reports still come back: one failing account never stops the rest."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - reported, not raised, see above
        log.error("account %s: sync aborted: %s", name, exc, exc_info=exc)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return SyncReport(name, "failed", error=f"sync aborted: {type(exc).__name__}: {first_line}"[:500])
