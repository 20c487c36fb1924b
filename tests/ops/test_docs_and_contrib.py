"""The guides, the alert rules and the systemd units stay true to the code they describe."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
import typer.main
import yaml
from prometheus_client.parser import text_string_to_metric_families

from channelport import metrics
from channelport.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CONTRIB = ROOT / "contrib"
GUIDES = sorted([*DOCS.glob("en/*.md"), *DOCS.glob("de/*.md")])
PAIRS = [("en/user-guide.md", "de/benutzerhandbuch.md"), ("en/operator-guide.md", "de/betrieb.md")]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
METRIC = re.compile(r"\bchannelport_[a-z_]+[a-z]\b")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_link_and_picture_of_a_guide_resolves(guide: Path):
    for target in LINK.findall(guide.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        resolved = (guide.parent / path).resolve() if path else guide
        assert resolved.exists(), f"{guide.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{guide.name}: no heading for #{anchor} in {resolved.name}"


@pytest.mark.parametrize(("english", "german"), PAIRS)
def test_both_languages_cover_the_same_sections_and_pictures(english: str, german: str):
    en, de = (DOCS / english).read_text(), (DOCS / german).read_text()
    assert len(re.findall(r"^## ", en, re.M)) == len(re.findall(r"^## ", de, re.M))
    pictures = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")
    assert pictures.findall(en) == pictures.findall(de)
    assert sorted(set(METRIC.findall(en))) == sorted(set(METRIC.findall(de)))


def exposed_metric_names(rt) -> set[str]:  # type: ignore[no-untyped-def]
    names = set()
    for family in text_string_to_metric_families(metrics.render_metrics(rt)[0].decode()):
        if family.name.startswith("channelport_") and not family.name.endswith("_created"):
            names.add(family.name + {"counter": "_total", "info": "_info"}.get(family.type, ""))
    return names


def documented_metric_names(guide: Path) -> set[str]:
    rows = [line for line in guide.read_text().splitlines() if line.startswith("| `channelport_")]
    return {METRIC.search(row).group(0) for row in rows}  # type: ignore[union-attr]


@pytest.mark.parametrize("guide", ["en/operator-guide.md", "de/betrieb.md"])
def test_the_metric_reference_lists_exactly_the_metrics_served(rt, guide):
    assert documented_metric_names(DOCS / guide) == exposed_metric_names(rt)


def test_alert_rules_parse_and_use_only_metrics_that_exist(rt):
    rules = yaml.safe_load((CONTRIB / "prometheus" / "channelport-alerts.yml").read_text())
    served = exposed_metric_names(rt)
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {"ChannelportAccountNotSynced", "ChannelportParkedEventsGrowing"} <= {a["alert"] for a in alerts}
    for alert in alerts:
        assert {"alert", "expr", "labels", "annotations"} <= alert.keys(), alert
        used = set(METRIC.findall(alert["expr"]))
        assert used and used <= served, (alert["alert"], used - served)


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(CONTRIB / name)
    return parser


def command_options(*path: str) -> set[str]:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts}


@pytest.mark.parametrize(("name", "command"), [
    ("channelport-worker.service", ("worker", "run")),
    ("channelport-web.service", ("serve",)),
])
def test_the_units_start_real_commands_with_real_options(name, command):
    service = unit(name)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/channelport") and tuple(argv[1:1 + len(command)]) == command
    options = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    assert options <= command_options(*command), options - command_options(*command)
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"] == "/etc/channelport/channelport.env"


def test_the_worker_unit_is_type_notify_with_a_watchdog():
    service = unit("channelport-worker.service")["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    seconds = int(service["WatchdogSec"].rstrip("s"))
    assert seconds >= 3 * 5, "the worker pings with every heartbeat, every 5 s"
    assert service["KillSignal"] == "SIGTERM"


def test_the_environment_example_names_only_settings_that_exist():
    from channelport.settings import Settings

    known = {f"CHANNELPORT_{name.upper()}" for name in Settings.model_fields} | {"CHANNELPORT_LOG_FORMAT"}
    named = set(re.findall(r"^#?(CHANNELPORT_[A-Z_]+)=", (CONTRIB / "channelport.env.example").read_text(), re.M))
    assert named and named <= known, named - known


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units():
    files = [str(p) for p in sorted(CONTRIB.glob("channelport*.service"))] + \
        [str(p) for p in sorted(CONTRIB.glob("*.timer"))]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True,
                            timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable" not in line and "/opt/channelport" not in line]
    assert problems == [], problems
