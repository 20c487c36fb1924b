"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL (127.0.0.1:5432, database `test`) gets a fresh schema per test. Where it is
absent the PostgreSQL half is skipped with the reason; under CI (`CI=true`) its absence
is an error, so a green CI always means both backends ran.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_BASE = os.environ.get("CHANNELPORT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


@cache
def postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL not reachable at {PG_BASE}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def require_postgres() -> None:
    problem = postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this test alone."""
    require_postgres()
    schema = f"cp_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'channelport.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def home(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialized installation (database migrated, secret key created)."""
    from channelport.services.installation import init_installation
    from channelport.settings import Settings

    data = tmp_path / "home"
    monkeypatch.setenv("CHANNELPORT_HOME", str(data))
    monkeypatch.setenv("CHANNELPORT_DATABASE_URL", database_url)
    monkeypatch.delenv("CHANNELPORT_SECRET_KEY", raising=False)
    init_installation(Settings())
    return data


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def rt(home: Path, clock: Clock):  # type: ignore[no-untyped-def]
    from channelport.services.runtime import open_runtime

    runtime = open_runtime(clock=clock)
    yield runtime
    runtime.close()
