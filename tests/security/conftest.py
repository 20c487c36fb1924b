"""Security fixtures: a simulator whose sellers hold distinctive tokens, the web app and its
clients (from tests/web), and logging captured as the product writes it.

The tokens are long and contain `|`, `+`, `/` and `&`, so their URL-encoded, base64 and
HTML-escaped forms differ from the plain one and a leak in any of them can be told apart.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

from channelport import logs
from channelport.simulator import Marketplace
from tests.sync.conftest import START, server  # noqa: F401  (the simulator over loopback HTTP)
from tests.web.conftest import api, app, browser, cheap_password_hashing, client, token, user  # noqa: F401

SELLER_ONE, SELLER_TWO = "S-1001", "S-2002"
TOKEN_ONE = "evt|Tok3n+one/Qx7Lm2Vb8Rk4Zp&9Wd-S1001"
TOKEN_TWO = "evt|Tok3n+two/Hy5Nc1Ju6Te3Go&8Ps-S2002"
NOISY = ("sqlalchemy", "sqlalchemy.engine", "httpx", "httpcore", "uvicorn", "channelport")


@pytest.fixture
def market() -> Marketplace:
    return Marketplace(seed=11, start=START, sellers={SELLER_ONE: TOKEN_ONE, SELLER_TWO: TOKEN_TWO},
                       visibility_timeout=30.0, orders_per_day=15)


class RawRecords(logging.Handler):
    """Every record as it was logged, before any of the product's filters masked it:
    (logger name, message with its traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.records.append((record.name, text))


@pytest.fixture
def log_capture() -> Iterator[Callable[[], dict[str, io.StringIO]]]:
    """`start()` logs everything at DEBUG into a text and a JSON buffer, as `--log-format` would.

    The root logger, its handlers and the library levels are put back afterwards, so the
    CLI's own `configure_logging` calls inside a test do not outlive it either.
    """
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved_levels = {name: logging.getLogger(name).level for name in NOISY}

    def start() -> dict[str, io.StringIO]:
        text, json_lines = io.StringIO(), io.StringIO()
        logs.configure_logging("text", logging.DEBUG, stream=text)
        second = logging.StreamHandler(json_lines)  # the same filters as configure_logging's handler
        second.addFilter(logs.ContextFilter())
        second.addFilter(logs.SecretFilter())
        second.setFormatter(logs.JsonFormatter())
        root.addHandler(second)
        for name in ("sqlalchemy.engine", "httpx", "httpcore", "channelport"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        return {"text": text, "json": json_lines}

    yield start
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    for handler in saved_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)
