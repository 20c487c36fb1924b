"""`channelport db copy`: SQLite to PostgreSQL and back, verified by export equality."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from channelport.cli.app import app
from channelport.errors import UsageError
from channelport.services import accounts, db_copy, manual_sync
from channelport.services.orders import export_orders
from channelport.services.runtime import open_runtime
from channelport.services.verify import compare
from channelport.settings import Settings
from channelport.store import workers as workers_repo
from channelport.store.db import read_only, unit_of_work
from channelport.store.tables import metadata, sync_runs


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]  # the installation starts on SQLite
    return f"sqlite:///{tmp_path / 'channelport.db'}"


def cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def counts(rt) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with read_only(rt.engine) as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables}


@pytest.fixture
def traded(connected, market):  # type: ignore[no-untyped-def]
    """Three days of trading imported, an unknown event recorded, one account locked."""
    market.advance(timedelta(days=3))
    market.inject_unknown_event("S-1001")
    assert all(r.status == "succeeded" for r in manual_sync.sync_accounts(connected))
    accounts.lock_account(connected, "shop-two", reason="stocktaking")
    return connected


def test_sqlite_to_postgresql_and_back(traded, market, pg_url, tmp_path, clock):
    rt = traded
    original = list(export_orders(rt))
    assert len(original) > 50

    result = cli("db", "copy", "--to", pg_url)
    assert result.exit_code == 0, result.output
    assert "Verified" in result.output and "orders" in result.output

    pg_rt = open_runtime(Settings(database_url=pg_url), clock=clock)
    try:
        assert list(export_orders(pg_rt)) == original
        assert counts(pg_rt) == counts(rt)
        assert accounts.get_account(pg_rt, "shop-two").locked
        # the copy is a working installation: credentials open, ids continue after the copied ones
        last_run = max(r for r in _run_ids(pg_rt))
        market.advance(timedelta(days=1))
        reports = {r.account: r for r in manual_sync.sync_accounts(pg_rt)}
        assert reports["shop-one"].status == "succeeded" and reports["shop-two"].status == "skipped"
        assert reports["shop-one"].run_id > last_run
        assert compare(export_orders(pg_rt, accounts=["shop-one"]), market.truth("S-1001", account="shop-one")).exact

        back_url = f"sqlite:///{tmp_path / 'back.db'}"
        back = db_copy.copy_database(pg_rt, to_url=back_url)
        assert back.verified and back.exports_equal and back.exported_orders > len(original) - 1
        back_rt = open_runtime(Settings(database_url=back_url), clock=clock)
        try:
            assert list(export_orders(back_rt)) == list(export_orders(pg_rt))
            assert counts(back_rt) == counts(pg_rt)
        finally:
            back_rt.close()
    finally:
        pg_rt.close()


def test_a_target_with_data_is_refused_unless_forced(traded, tmp_path):
    rt = traded
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert cli("db", "copy", "--to", target).exit_code == 0
    refused = cli("db", "copy", "--to", target)
    assert refused.exit_code == 2
    assert "not empty" in refused.output and "--force" in refused.output

    accounts.unlock_account(rt, "shop-two")  # the source moved on; --force replaces the target's rows
    forced = cli("db", "copy", "--to", target, "--force", "--chunk-size", "7")
    assert forced.exit_code == 0, forced.output
    assert "previous contents were replaced" in forced.output
    copy_rt = open_runtime(Settings(database_url=target))
    try:
        assert not accounts.get_account(copy_rt, "shop-two").locked
        assert counts(copy_rt) == counts(rt)
    finally:
        copy_rt.close()


def test_a_target_that_init_prepared_counts_as_empty(traded, tmp_path, monkeypatch):
    from channelport.services.installation import init_installation

    target = f"sqlite:///{tmp_path / 'prepared.db'}"
    with monkeypatch.context() as m:
        m.setenv("CHANNELPORT_DATABASE_URL", target)
        init_installation(Settings())
    result = db_copy.copy_database(traded, to_url=target)
    assert result.verified and not result.cleared


def test_refusals(traded, database_url, rt, tmp_path):
    from channelport.services.runtime import utc_now

    with pytest.raises(UsageError, match="the database this installation uses"):
        db_copy.copy_database(rt, to_url=database_url)
    bad = cli("db", "copy", "--to", "not a url")
    assert bad.exit_code == 2 and "not a database URL" in bad.output
    newer = create_engine(f"sqlite:///{tmp_path / 'newer.db'}")
    with newer.begin() as conn:  # a database a future version migrated
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('9999_future')"))
    newer.dispose()
    with pytest.raises(UsageError, match="newer version"):
        db_copy.copy_database(rt, to_url=f"sqlite:///{tmp_path / 'newer.db'}")
    with unit_of_work(rt.engine) as conn:
        workers_repo.register(conn, worker_id="host:1:abc", host="host", pid=1, now=utc_now())
    busy = cli("db", "copy", "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert busy.exit_code == 2 and "worker(s) are running" in busy.output, busy.output


def test_a_copy_that_does_not_verify_exits_1(traded, tmp_path, monkeypatch):
    real = db_copy._export_digest
    seen: list[int] = []

    def differing(rt):  # type: ignore[no-untyped-def]
        seen.append(1)
        count, digest = real(rt)
        return (count, digest) if len(seen) == 1 else (count, "something else")

    monkeypatch.setattr(db_copy, "_export_digest", differing)
    result = cli("db", "copy", "--to", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 1
    assert "Problem: the order exports differ" in result.output


def _run_ids(rt) -> list[int]:  # type: ignore[no-untyped-def]
    with read_only(rt.engine) as conn:
        return list(conn.scalars(select(sync_runs.c.id)))
