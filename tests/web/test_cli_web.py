"""`channelport serve`, `user ...` and `token ...` through the CLI runner."""

from __future__ import annotations

import re

import uvicorn
from typer.testing import CliRunner

from channelport.cli import app
from channelport.services import users
from channelport.services.runtime import open_runtime
from tests.web.conftest import sqlite_only

runner = CliRunner()


@sqlite_only
def test_users_and_tokens_from_the_command_line(home):
    added = runner.invoke(app, ["user", "add", "anna", "--password-stdin"], input="Geheim-und-lang-1\n")
    assert added.exit_code == 0, added.output
    assert "Geheim" not in added.output
    assert runner.invoke(app, ["user", "add", "anna", "--password-stdin"], input="Geheim-und-lang-1\n").exit_code == 2
    assert runner.invoke(app, ["user", "add", "bert", "--password-stdin"], input="short\n").exit_code == 2
    assert runner.invoke(app, ["user", "list"]).output.split() == ["anna"]

    created = runner.invoke(app, ["token", "create", "--name", "ci"])
    assert created.exit_code == 0
    assert re.fullmatch(r"cpt_[A-Za-z0-9_-]{43}\n", created.stdout)  # the token, and nothing else
    token = created.stdout.strip()
    listed = runner.invoke(app, ["token", "list"])
    assert "ci" in listed.output and token not in listed.output
    rt = open_runtime()
    try:
        assert users.token_owner(rt, token) == "ci"
        assert users.authenticate(rt, name="anna", password="Geheim-und-lang-1") is not None
        assert runner.invoke(app, ["token", "revoke", "ci"]).exit_code == 0
        assert users.token_owner(rt, token) is None
    finally:
        rt.close()
    assert runner.invoke(app, ["token", "revoke", "ci"]).exit_code == 2


@sqlite_only
def test_serve_binds_loopback_unless_told_otherwise(home, monkeypatch):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: calls.append(kw))
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8080
    served = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 9000
    assert "reachable from other machines" in served.output
