"""Helpers the command modules share: the runtime, console, input parsing."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time

from rich.console import Console

from channelport.errors import UsageError
from channelport.services.runtime import Runtime, open_runtime

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def runtime() -> Iterator[Runtime]:
    rt = open_runtime()
    try:
        yield rt
    finally:
        rt.close()


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid date {text!r}: write it as YYYY-MM-DD, e.g. 2026-11-20") from None


def parse_time(text: str | None) -> time:
    if text is None:
        return time(0, 0, 0)
    try:
        parsed = time.fromisoformat(text.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None or len(text.strip()) not in (5, 8):
        raise UsageError(f"invalid time {text!r}: write it as HH:MM or HH:MM:SS, e.g. 08:30")
    return parsed


def read_token(token_env: str | None, token_stdin: bool, *, required: bool) -> str | None:
    if token_env and token_stdin:
        raise UsageError("give the token either through --token-env or --token-stdin, not both")
    if token_env:
        value = os.environ.get(token_env)
        if not value:
            raise UsageError(f"environment variable {token_env} is not set or empty; export the token in it first")
        return value
    if token_stdin:
        value = sys.stdin.readline().strip()
        if not value:
            raise UsageError("no token on standard input")
        return value
    if required:
        raise UsageError("the account needs a token: pass --token-env VAR or --token-stdin")
    return None


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} takes KEY=VALUE, got {pair!r}")
        result[key.strip()] = value
    return result


def read_secret_envs(pairs: list[str] | None) -> dict[str, str]:
    secrets = {}
    for key, var in parse_pairs(pairs, "--secret").items():
        value = os.environ.get(var)
        if not value:
            raise UsageError(f"environment variable {var} (for secret {key}) is not set or empty")
        secrets[key] = value
    return secrets


def local_text(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"
