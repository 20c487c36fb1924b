"""`channelport marketplace serve|truth`: bad values exit 2 with one line; serve really serves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import httpx
import pytest
from typer.testing import CliRunner

from channelport.simulator import Marketplace, SimServer
from channelport.simulator.cli import marketplace_app
from channelport.simulator.wire import parse_timestamp_us

from .support import drain, subscribe

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "abc"],
        ["serve", "--port", "70000"],
        ["serve", "--seed", "-1"],
        ["serve", "--seller", "no-colon"],
        ["serve", "--seller", "A:x", "--seller", "A:y"],
        ["serve", "--seller", "A:x", "--seller", "B:x"],
        ["serve", "--orders", "many"],
        ["serve", "--days", "0"],
        ["serve", "--days", "nan"],
        ["serve", "--visibility-timeout", "-3"],
        ["truth", "--url", "localhost:8765"],
    ],
)
def test_bad_values_exit_2_with_one_line(args: list[str]) -> None:
    result = runner.invoke(marketplace_app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: ")


def test_truth_prints_json_lines(server: SimServer, market: Marketplace) -> None:
    market.generate(orders=12, days=1)
    result = runner.invoke(marketplace_app, ["truth", "--url", server.url, "--seller", "S-2002", "--account", "a-1"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == market.truth("S-2002", "a-1")


def test_truth_for_an_unknown_seller_or_an_absent_server_fails_in_one_line(server: SimServer) -> None:
    unknown = runner.invoke(marketplace_app, ["truth", "--url", server.url, "--seller", "S-9"])
    assert unknown.exit_code == 2 and len(unknown.stderr.splitlines()) == 1
    absent = runner.invoke(marketplace_app, ["truth", "--url", "http://127.0.0.1:1"])
    assert absent.exit_code == 1 and len(absent.stderr.splitlines()) == 1


def test_serve_generates_listens_follows_the_wall_clock_and_stops_on_ctrl_c() -> None:
    code = "from channelport.simulator.cli import marketplace_app; marketplace_app()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", "0", "--orders", "30", "--days", "1", "--seller", "S-7:tok-7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Marketplace listening on http://127.0.0.1:"), first + (
            process.stderr.read() if process.poll() else ""
        )
        url = first.split()[-1]
        assert process.stdout.readline().strip() == "seller S-7 token tok-7"
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer tok-7"}, timeout=30) as http:
            subscribe(http, since="2000-01-01T00:00:00Z")
            events = drain(http)
            assert len({e["event"]["orderId"] for e in events}) >= 30
            now = httpx.get(f"{url}/_sim/stats").json()["now"]
            lag = datetime.now(timezone.utc).timestamp() - parse_timestamp_us(now) / 1e6
            assert 0 <= lag < 30
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
