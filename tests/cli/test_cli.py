"""The command line through Typer's runner, plus one run of the installed command."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from channelport import collector
from channelport.cli import app

runner = CliRunner()
TOKEN = "cli-Token-Never-Printed-991"


def cp(*args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input, env=env)


@pytest.fixture
def shop(home, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)
    result = cp("account", "add", "shop", "--kind", "event-api", "--url", "http://127.0.0.1:9",
                "--seller-id", "S-1", "--token-env", "SHOP_TOKEN")
    assert result.exit_code == 0, result.output
    return "shop"


def test_account_lifecycle(shop):
    listed = cp("account", "list", "--json")
    assert listed.exit_code == 0
    assert json.loads(listed.stdout)[0]["name"] == "shop"
    shown = cp("account", "show", "shop")
    assert shown.exit_code == 0 and TOKEN not in shown.stdout and "******" in shown.stdout
    assert cp("account", "lock", "shop", "--reason", "stocktaking").exit_code == 0
    assert "locked: stocktaking" in cp("account", "list").stdout
    assert cp("account", "unlock", "shop").exit_code == 0
    assert cp("account", "deactivate", "shop").exit_code == 0
    assert json.loads(cp("account", "show", "shop", "--json").stdout)["status"] == "inactive"
    assert cp("account", "edit", "shop", "--timezone", "Europe/Vienna").exit_code == 0
    assert cp("account", "remove", "shop").exit_code == 0
    assert json.loads(cp("account", "list", "--json").stdout) == []


def test_token_from_stdin(home):
    result = cp("account", "add", "s2", "--kind", "event-api", "--url", "http://127.0.0.1:9",
                "--seller-id", "S-2", "--token-stdin", input=TOKEN + "\n")
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output


def test_import_request_and_show_json(shop):
    result = cp("import", "request", "shop", "--from", "2026-11-20", "--time", "08:30")
    assert result.exit_code == 0, result.output
    assert "next sync" in result.stdout
    rows = json.loads(cp("import", "show", "shop", "--json").stdout)
    assert len(rows) == 5
    assert rows[1] == {"event": "status", "enabled": True, "from": "2026-11-20T08:30:00+01:00",
                       "fromUtc": "2026-11-20T07:30:00Z", "pending": True}
    assert cp("import", "set", "shop", "address", "--disable").exit_code == 0
    assert json.loads(cp("import", "show", "shop", "--json").stdout)[2]["enabled"] is False


def test_ambiguous_autumn_time_says_so(shop):
    result = cp("import", "request", "shop", "--from", "2026-10-25", "--time", "02:30")
    assert result.exit_code == 0
    assert "occurs twice" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "show", "ghost"), "unknown account 'ghost'"),
        (("import", "request", "shop", "--from", "20.11.2026"), "invalid date"),
        (("import", "request", "shop", "--from", "2026-11-20", "--time", "25:00"), "invalid time"),
        (("import", "request", "shop", "--from", "2026-03-29", "--time", "02:30"), "does not exist"),
        (("import", "request", "shop", "--from", "2099-01-01"), "future"),
        (("import", "request", "shop", "--from", "2026-11-20", "--events", "orders"), "unknown event"),
        (("account", "add", "x", "--kind", "nope", "--url", "http://h", "--seller-id", "s", "--token-env", "SHOP_TOKEN"),
         "unknown connector kind"),
        (("account", "add", "shop", "--kind", "event-api", "--url", "http://h", "--seller-id", "s",
          "--token-env", "SHOP_TOKEN"), "exists already"),
        (("account", "add", "y", "--kind", "event-api", "--url", "http://h", "--seller-id", "s",
          "--token-env", "SHOP_TOKEN", "--timezone", "Berlin"), "time zone"),
        (("account", "add", "y", "--kind", "event-api", "--url", "http://h", "--seller-id", "s"), "token"),
        (("account", "frobnicate"), "No such command"),
        (("edition", "set", "--packages", "gold"), "unknown package"),
    ],
)
def test_bad_input_exits_2_with_one_line(shop, args, message):
    result = cp(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_edition_without_orders_refuses_requests(shop):
    assert cp("edition", "set", "--packages", "none").exit_code == 0
    result = cp("import", "request", "shop", "--from", "2026-11-20")
    assert result.exit_code == 1
    assert "order package" in result.stderr
    assert cp("edition", "set", "--packages", "orders").exit_code == 0


def test_connectors_lists_the_event_api_kind(home):
    result = cp("connectors")
    assert result.exit_code == 0 and "event-api" in result.stdout


def test_the_installed_command_runs(home):
    env = {**os.environ}
    bindir = os.path.dirname(sys.executable)
    version = subprocess.run([os.path.join(bindir, "channelport"), "--version"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("channelport ")
    listed = subprocess.run([os.path.join(bindir, "channelport"), "import", "show", "nobody"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert listed.returncode == 2
    assert listed.stderr.strip().startswith("Error: unknown account 'nobody'")


def test_every_command_runs_with_the_collector_thresholds_for_long_backfills(home):
    """A sync keeps many orders in memory; the default thresholds made it a fifth slower (collector.py)."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        result = cp("connectors")
        assert result.exit_code == 0, result.output
        assert gc.get_threshold() == collector.THRESHOLDS != (700, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_the_console_script_freezes_the_heap_when_its_command_is_done(home):
    """The interpreter's exit collections took a tenth of a second and more of every command (collector.py)."""
    script = (
        "import gc, sys\n"
        "from channelport.cli.app import main\n"
        "sys.argv = ['channelport', *sys.argv[1:]]\n"
        "before = gc.get_freeze_count()\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    print(before, gc.get_freeze_count(), exit.code, file=sys.stderr)\n"
    )
    for args, code in ((["--version"], "0"), (["import", "show", "nobody"], "2")):
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                              env={**os.environ, "CHANNELPORT_HOME": str(home)}, timeout=60)
        before, after, exit_code = done.stderr.split()[-3:]
        assert (before, exit_code) == ("0", code), done.stderr
        assert int(after) > 10_000, done.stderr  # the whole heap of the imported libraries


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CHANNELPORT_ORDER_CACHE", "lots", "CHANNELPORT_ORDER_CACHE='lots': Input should be a valid integer"),
        ("CHANNELPORT_ORDER_CACHE", "-1", "CHANNELPORT_ORDER_CACHE='-1': Input should be greater than or equal to 0"),
        ("CHANNELPORT_LEASE_SECONDS", "2min", "CHANNELPORT_LEASE_SECONDS='2min': Input should be a valid number"),
    ],
)
def test_a_bad_setting_in_the_environment_exits_2_naming_the_variable(shop, variable, value, message):
    result = cp("sync", "--all", env={variable: value})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
