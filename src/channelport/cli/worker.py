"""`channelport worker run|status|restart`."""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Annotated, Optional

import typer
from rich.table import Table

from channelport import logs, metrics, systemd
from channelport.cli.common import console, local_text, runtime
from channelport.errors import ChannelportError
from channelport.services import worker as service

worker_app = typer.Typer(help="The background worker that syncs due accounts.", no_args_is_help=True)


@worker_app.command("run")
def run(
    interval: Annotated[float, typer.Option(min=1, help="Seconds between two syncs of one account.")] = 60,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Accounts synced at once.")] = 4,
    watchdog: Annotated[float, typer.Option(min=10, help="Stop a sync after this many seconds without progress.")] = 900,
    metrics_port: Annotated[
        Optional[int], typer.Option(min=0, max=65535, help="Serve Prometheus metrics on this port (0: any free one).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics port listens on.")] = "127.0.0.1",
    log_format: Annotated[
        Optional[logs.LogFormat], typer.Option(help="text (default) or json lines; overrides the global option.")
    ] = None,
) -> None:
    """Sync due accounts until stopped (SIGTERM/SIGINT finish the current batch first).

    Under systemd (Type=notify) it reports READY=1, WATCHDOG=1 with every heartbeat and
    STOPPING=1; see contrib/channelport-worker.service.
    """
    logs.configure_logging(log_format or logs.current_format(), logging.INFO)
    with runtime() as rt:
        worker = service.Worker(rt, service.WorkerOptions(interval=interval, concurrency=concurrency,
                                                          watchdog=watchdog))
        logs.set_process_fields(worker=worker.id)
        _check_watchdog()
        server = _serve_metrics(rt, metrics_port, metrics_host)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: worker.request_stop())
        try:
            restart = worker.run()
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
    if restart:
        console.print("Restarting as requested.")
        os.execv(sys.executable, [sys.executable, "-m", "channelport", *sys.argv[1:]])


def _serve_metrics(rt, port: int | None, host: str):  # type: ignore[no-untyped-def]
    if port is None:
        return None
    try:
        server = metrics.start_metrics_server(rt, port, host)
    except OSError as exc:
        raise ChannelportError(
            f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); choose another --metrics-port"
        ) from None
    console.print(f"Metrics on http://{host}:{server.server_port}/metrics")
    return server


def _check_watchdog() -> None:
    interval = systemd.watchdog_seconds()
    if interval is not None and interval < 2 * service.HEARTBEAT_SECONDS:
        logging.getLogger(__name__).warning(
            "WatchdogSec=%ss is shorter than two heartbeats (%ss each); set it to 30s or more",
            interval, service.HEARTBEAT_SECONDS,
        )


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
