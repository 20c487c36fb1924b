"""Logs: text or JSON lines, the account and run id on every line of a sync, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from channelport import logs
from channelport.services import accounts, manual_sync

SECRETS = ("token-one", "token-two", "wrong-token-4711")
NOISY = ("sqlalchemy", "sqlalchemy.engine", "httpx", "httpcore")


@pytest.fixture
def capture() -> Iterator:  # type: ignore[type-arg]
    """configure_logging into a buffer; everything as it was afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved = {name: logging.getLogger(name).level for name in NOISY}
    buffers: list[io.StringIO] = []

    def configure(fmt: str, level: int = logging.DEBUG) -> io.StringIO:
        buffer = io.StringIO()
        logs.configure_logging(fmt, level, stream=buffer)
        buffers.append(buffer)
        return buffer

    yield configure
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def json_lines(buffer: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_time_level_logger_message_and_context(capture):
    buffer = capture("json")
    log = logging.getLogger("channelport.test")
    log.info("outside")
    with logs.sync_log_context(account="shop-one", run_id=17):
        log.warning("inside %s", "a sync")
        with logs.sync_log_context(run_id=18):
            log.info("nested")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        with logs.sync_log_context(account="shop-two", run_id=19):
            log.exception("it failed")
    outside, inside, nested, failed = json_lines(buffer)
    assert {"time", "level", "logger", "message"} <= outside.keys()
    assert "account" not in outside and "run_id" not in outside
    assert (inside["level"], inside["logger"], inside["message"]) == ("WARNING", "channelport.test", "inside a sync")
    assert (inside["account"], inside["run_id"]) == ("shop-one", 17)
    assert (nested["account"], nested["run_id"]) == ("shop-one", 18)
    assert failed["account"] == "shop-two" and "RuntimeError: boom" in failed["exception"]


def test_text_lines_show_account_and_run(capture):
    buffer = capture("text")
    with logs.sync_log_context(account="shop-one", run_id=5):
        logging.getLogger("channelport.test").warning("something")
    line = buffer.getvalue().strip()
    assert line.endswith("WARNING channelport.test [account=shop-one run=5]: something"), line


def test_every_line_of_a_real_sync_carries_its_account_and_run_id(capture, connected, market, server):
    rt = connected
    accounts.add_account(rt, name="shop-bad", kind="event-api", url=server.url, seller_id="S-2002",
                         token="wrong-token-4711", settings={"retry_deadline": "1"})
    market.advance(timedelta(days=1))
    buffer = capture("json")
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)  # SQL of the lease comes before the run exists
    reports = {r.account: r for r in manual_sync.sync_accounts(rt)}
    assert {name: r.status for name, r in reports.items()} == \
        {"shop-bad": "failed", "shop-one": "succeeded", "shop-two": "succeeded"}

    lines = [line for line in json_lines(buffer) if line.get("thread", "").startswith("sync")]
    assert len(lines) > 10, "HTTP requests and the failed sync should have been logged"
    for line in lines:
        assert "account" in line and "run_id" in line, line
        assert reports[line["account"]].run_id == line["run_id"], line
    failed = [line for line in lines if line["level"] == "ERROR"]
    assert failed and all(line["account"] == "shop-bad" for line in failed)
    requests = [line for line in lines if line["message"].startswith("HTTP Request: ")]
    assert {line["account"] for line in requests} == set(reports)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_reaches_the_log_of_a_real_sync(capture, connected, market, server, fmt):
    """Everything at DEBUG, SQL included; a rejected token and a sync that succeeds."""
    rt = connected
    accounts.add_account(rt, name="shop-bad", kind="event-api", url=server.url, seller_id="S-2002",
                         token="wrong-token-4711", settings={"retry_deadline": "1"})
    market.advance(timedelta(days=1))
    buffer = capture(fmt)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    manual_sync.sync_accounts(rt)
    # and what a careless line inside a sync would write
    with logs.sync_log_context(account="shop-one", run_id=1):
        logging.getLogger("channelport.test").error("request headers: {'Authorization': 'Bearer token-one'}")
        logging.getLogger("channelport.test").error("config %s", {"token": "token-two", "secrets": {}})
    written = buffer.getvalue()
    assert "Authorization" in written and "sync_runs" in written, "the log should hold SQL and the careless lines"
    for secret in SECRETS:
        assert secret not in written, f"{secret} was logged"
    assert "gAAAAA" not in written, "a sealed credential was logged"


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Authorization: Bearer abc.DEF-123_xyz", "Authorization: Bearer ***"),
        ("header bearer abcdef0123456789", "header bearer ***"),
        ("token=abcdef123 and more", "token=*** and more"),
        ('{"refresh_token": "Atzr|IwEBIF", "x": 1}', '{"refresh_token": "***", "x": 1}'),
        ("client_secret: s3cr3t-value", "client_secret: ***"),
        ("postgresql+psycopg://app:pa55word@db.example/cp", "postgresql+psycopg://app:***@db.example/cp"),
        ("sealed gAAAAABnXqZ1abcdefghijklmnopqrstuvwxyz0123", "sealed ***"),
        ("3 tokens left, no secret here", "3 tokens left, no secret here"),
        ("credentials rejected: HTTP 401", "credentials rejected: HTTP 401"),
    ],
)
def test_masking_patterns(message, shown):
    assert logs.mask(message) == shown


def test_registered_secrets_are_masked_anywhere_even_in_tracebacks(capture):
    buffer = capture("text")
    logs.register_secrets("Zq9-very-private", "ab")  # too short to mask: ordinary words stay readable
    log = logging.getLogger("channelport.test")
    try:
        raise ValueError("the channel answered for key Zq9-very-private")
    except ValueError:
        log.exception("failed with Zq9-very-private in %s", "the message")
    written = buffer.getvalue()
    assert "Zq9-very-private" not in written
    assert written.count("***") == 3 and "ValueError" in written  # message, source line, exception
    assert logs.mask("ab cd") == "ab cd"
