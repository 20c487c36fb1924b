"""Logging: human-readable lines by default, JSON lines on request, never a secret.

- `configure_logging(fmt, level)` gives the root logger one stderr handler that writes
  `text` (`2026-11-27 12:00:00,123 INFO channelport.services.sync [account=shop-one run=12]: ...`)
  or `json` (one object per line: time, level, logger, message, and the context fields).
- `sync_log_context(account=..., run_id=...)` binds fields to everything logged inside
  the block, in this thread or task (a `contextvars.ContextVar`): every line of a sync
  carries its account and its run id without each call passing them.
  `set_process_fields(worker=...)` binds fields to every line of the process.
- `SecretFilter` masks, before anything is written: bearer and basic credentials,
  `token=`/`secret:`/`password=`-style values, passwords in URLs, Fernet tokens (the
  sealed credentials), and every value given to `register_secrets` (the sync registers
  each account's decrypted token and secrets the moment it has them).

Both filters sit on the handler, so records from every library logger pass through them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from enum import Enum
from typing import IO, Any
from urllib.parse import quote, quote_plus


class LogFormat(str, Enum):
    """`--log-format`: lines for people, or JSON lines for a log collector."""

    text = "text"
    json = "json"


FORMATS = tuple(f.value for f in LogFormat)
CONTEXT_FIELDS = ("account", "run_id", "worker")
MASK = "***"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words; real tokens are longer

_context: ContextVar[Mapping[str, Any]] = ContextVar("channelport_log_context", default={})
_process_fields: dict[str, Any] = {}
_current_format = "text"


# --- context ------------------------------------------------------------------------------


@contextmanager
def sync_log_context(**fields: Any) -> Iterator[None]:
    """Bind `account`, `run_id` (or other fields) to every record logged inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return {**_process_fields, **_context.get()}


def set_process_fields(**fields: Any) -> None:
    """Fields on every line of this process (the worker's id, for instance)."""
    _process_fields.update({k: v for k, v in fields.items() if v is not None})


class ContextFilter(logging.Filter):
    """Copies the bound context onto the record (as attributes named like the fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current_context()
        record.channelport_context = fields
        for key, value in fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


# --- secrets ------------------------------------------------------------------------------

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and the like: "Bearer abc.def", "Basic dXNlcjpwYXNz"
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{4,}"), r"\1\2" + MASK),
    # key=value, key: value, "key": "value" for names that hold secrets
    (
        re.compile(
            r"(?i)((?:[\w-]*(?:token|secret|password|passwd|pwd|(?:api|consumer)[_-]?key|authorization|credential)[\w-]*)"
            r"[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*|(?i:bearer|basic)\s)([^\s\"',;&})\]]+)"
        ),
        r"\1" + MASK,
    ),
    # a password in a URL: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)", re.IGNORECASE), r"\1" + MASK + r"\3"),
    # Fernet tokens: sealed credentials as stored in the database
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), MASK),
)

_known_lock = threading.Lock()
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def register_secrets(*values: object) -> None:
    """Never write these values, whatever logger or message they turn up in.

    Also their URL-encoded forms: a credential sent as a query parameter (WooCommerce's
    `auth=query`) appears percent-encoded in the HTTP client's request line."""
    global _known_pattern
    plain = [v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH]
    fresh = {form for v in plain for form in (v, quote(v, safe=""), quote_plus(v))} - _known
    if not fresh:
        return
    with _known_lock:
        _known.update(fresh)
        ordered = sorted(_known, key=len, reverse=True)  # longest first: no partial masking
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def mask(text: str) -> str:
    """The text with every secret it contains replaced by ***."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for regex, replacement in _SECRET_PATTERNS:
        text = regex.sub(replacement, text)
    return text


class SecretFilter(logging.Filter):
    """Masks the message, the exception and the stack of a record before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


# --- formatters ---------------------------------------------------------------------------


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(channelport_shown)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "channelport_context", None) or {}
        shown = [f"{_SHORT.get(k, k)}={fields[k]}" for k in ("account", "run_id") if k in fields]
        record.channelport_shown = f" [{' '.join(shown)}]" if shown else ""
        return mask(super().format(record))


_SHORT = {"run_id": "run"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; context fields appear as keys when they are bound."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "channelport_context", None) or {})
        if record.threadName and record.threadName != "MainThread":
            entry["thread"] = record.threadName
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return mask(json.dumps(entry, ensure_ascii=False, default=str))


# --- set-up -------------------------------------------------------------------------------

# one INFO line per HTTP request, or per database connection of a migration check, is noise
QUIET_LIBRARIES = ("httpx", "httpcore", "alembic")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(fmt: str = "text", level: int = logging.INFO, *, stream: IO[str] | None = None) -> logging.Handler:
    """One handler on the root logger; replaces the one an earlier call (or basicConfig) made."""
    global _current_format
    fmt = getattr(fmt, "value", fmt)
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "channelport", False) or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.channelport = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.addFilter(SecretFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    _current_format = fmt
    return handler


def current_format() -> str:
    """The format the last `configure_logging` chose (text until then)."""
    return _current_format


def uvicorn_log_config() -> dict[str, Any]:
    """For `uvicorn.run(log_config=...)`: uvicorn's loggers hand their records to the root
    handler, so the web server's lines follow `--log-format` and are masked like ours."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": "INFO"}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }

