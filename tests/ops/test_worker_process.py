"""`channelport worker run` as systemd runs it: notify socket, metrics port, JSON logs, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta

import httpx
from sqlalchemy import select

from channelport.store.db import read_only
from channelport.store.tables import sync_runs
from tests.ops.conftest import samples, value, wait_for
from tests.ops.test_systemd import notify_socket  # noqa: F401  (the fixture)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_worker_under_systemd_with_metrics_and_json_logs(connected, market, notify_socket):
    rt = connected
    market.advance(timedelta(days=2))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTIFY_SOCKET": notify_socket.address}
    proc = subprocess.Popen(
        [sys.executable, "-m", "channelport", "worker", "run", "--interval", "3600", "--metrics-port", str(port),
         "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert notify_socket.wait_for("READY=1", timeout=60), proc.poll()
        assert notify_socket.wait_for("WATCHDOG=1")

        def synced() -> bool:
            with read_only(rt.engine) as conn:
                return len(list(conn.scalars(select(sync_runs.c.id).where(sync_runs.c.status == "succeeded")))) == 2

        assert wait_for(synced, timeout=60)
        found: dict = {}

        def scraped() -> bool:
            found.update(samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text))
            return value(found, "channelport_syncs_total", account="shop-two", result="succeeded") == 1

        assert wait_for(scraped, timeout=30)  # the report is counted when the worker reaps it
        assert value(found, "channelport_syncs_total", account="shop-one", result="succeeded") == 1
        assert (value(found, "channelport_events_total", account="shop-one", type="order", outcome="applied") or 0) > 0
        assert (value(found, "channelport_worker_heartbeats_total") or 0) >= 1
        assert value(found, "channelport_account_lag_seconds", account="shop-one") is not None
        assert value(found, "channelport_workers", state="running") == 1
        assert value(found, "channelport_database_up") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert notify_socket.wait_for("STOPPING=1")
    assert f"Metrics on http://127.0.0.1:{port}/metrics" in stdout

    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # every line is JSON
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert all("worker" in line for line in lines if line["logger"].startswith("channelport")), lines
    reports = [line for line in lines if line["message"].startswith("account ") and "succeeded" in line["message"]]
    assert {line["account"] for line in reports} == {"shop-one", "shop-two"}
    with read_only(rt.engine) as conn:
        run_ids = dict(conn.execute(select(sync_runs.c.id, sync_runs.c.status)).all())
    assert all(run_ids[line["run_id"]] == "succeeded" for line in reports)
    for line in lines:
        if line.get("thread", "").startswith("worker-sync"):
            assert "account" in line and "run_id" in line, line
    assert any(line["message"].startswith("metrics on http://") for line in lines)
