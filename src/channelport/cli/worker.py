"""`channelport worker run|status|restart`."""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Annotated

import typer
from rich.table import Table

from channelport.cli.common import console, local_text, runtime
from channelport.services import worker as service

worker_app = typer.Typer(help="The background worker that syncs due accounts.", no_args_is_help=True)


@worker_app.command("run")
def run(
    interval: Annotated[float, typer.Option(min=1, help="Seconds between two syncs of one account.")] = 60,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Accounts synced at once.")] = 4,
    watchdog: Annotated[float, typer.Option(min=10, help="Stop a sync after this many seconds without progress.")] = 900,
) -> None:
    """Sync due accounts until stopped (SIGTERM/SIGINT finish the current batch first)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    with runtime() as rt:
        worker = service.Worker(rt, service.WorkerOptions(interval=interval, concurrency=concurrency,
                                                          watchdog=watchdog))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: worker.request_stop())
        restart = worker.run()
    if restart:
        console.print("Restarting as requested.")
        os.execv(sys.executable, [sys.executable, "-m", "channelport", *sys.argv[1:]])


@worker_app.command("status")
def status() -> None:
    """Every worker: alive or stale, its last heartbeat, what it is doing."""
    with runtime() as rt:
        rows = service.worker_status(rt)
    if not rows:
        console.print("No worker has run yet. Start one with `channelport worker run`.")
        return
    table = Table("Worker", "State", "Last heartbeat (UTC)", "Doing")
    for w in rows:
        table.add_row(w.id, w.state, local_text(w.heartbeat_at), w.doing or "-")
    console.print(table)


@worker_app.command("restart")
def restart() -> None:
    """Ask every running worker to finish its batch, release its accounts and start again."""
    with runtime() as rt:
        count = service.request_restart(rt)
    console.print(f"Restart requested for {count} running worker(s)." if count else "No running worker found.")
