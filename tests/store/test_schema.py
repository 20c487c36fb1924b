"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from channelport.services.installation import init_installation
from channelport.settings import Settings
from channelport.store import migrate
from channelport.store.db import WAL_CHECKPOINT_PAGES, make_engine
from channelport.store.tables import metadata


def test_migrated_schema_matches_the_declared_tables(home, database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_init_on_an_up_to_date_database_is_a_no_op(home, database_url):
    again = init_installation(Settings())
    assert again.revision_before == again.revision_after == migrate.head_revision()
    assert not again.changed


def test_init_creates_a_key_file_readable_by_the_owner_only(home):
    mode = (home / "secret.key").stat().st_mode & 0o777
    assert mode == 0o600


def test_the_head_revision_constant_is_the_scripts_head():
    """`open_runtime` compares with the constant (no Alembic at start-up); it must follow the scripts."""
    assert migrate.HEAD_REVISION == migrate.head_revision()


def test_sqlite_commits_are_on_disk_before_the_sync_acknowledges(tmp_path):
    """FULL, not NORMAL: in WAL mode NORMAL syncs only at checkpoints, so a power cut could
    roll back a commit whose events the channel was already told to forget."""
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.db'}")
    try:
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            checkpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    finally:
        engine.dispose()
    assert (journal, synchronous) == ("wal", 2)  # 2 is FULL
    assert checkpoint == WAL_CHECKPOINT_PAGES > 1000


def test_migration_0004_down_gives_each_replay_its_original_text_back(home, database_url):
    """Before 0004 every row kept its own text; going back must not leave replay rows empty."""
    from datetime import datetime, timezone

    from alembic import command
    from sqlalchemy import insert, select, text

    from channelport.store.tables import channel_accounts, received_events

    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            now = datetime.now(timezone.utc)
            account_id = conn.execute(insert(channel_accounts).values(
                name="shop", kind="event-api", url="http://127.0.0.1:9", seller_id="S-1", timezone="Europe/Berlin",
                settings={}, credentials="-", active=True, locked=False, subscription_changed=False,
                created_at=now, updated_at=now,
            ).returning(channel_accounts.c.id)).scalar_one()
            common = {"account_id": account_id, "wire_type": "Channel:Order.New", "received_at": now}
            conn.execute(insert(received_events), [
                {**common, "event_id": "ev-1", "outcome": "applied", "raw": '{"id":"ev-1","type":"Channel:Order.New"}',
                 "repeat_of": None},
                {**common, "event_id": "ev-9", "outcome": "duplicate", "raw": "", "repeat_of": "ev-1"},
            ])
        config = migrate.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")
        with engine.connect() as conn:
            raws = dict(conn.execute(text("SELECT event_id, raw FROM received_events")).all())
        assert raws == {"ev-1": '{"id":"ev-1","type":"Channel:Order.New"}', "ev-9": '{"id":"ev-1","type":"Channel:Order.New"}'}
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.execute(select(received_events.c.repeat_of)).scalars().all() == [None, None]
    finally:
        engine.dispose()


def test_only_parked_events_are_indexed_by_order_and_their_lookup_reads_no_other_row(home, database_url):
    """Every other row skips the order index (a write at a random place per event); the
    lookup of parked events must still go by an index, never through the whole log."""
    from sqlalchemy import text

    from channelport.store import received as received_repo

    engine = make_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.begin() as conn:
            if sqlite:
                sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_received_events_parked_order'")).scalar()
                assert sql is not None and sql.endswith("WHERE outcome = 'parked'")
            else:
                sql = conn.execute(text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_received_events_parked_order'")).scalar()
                assert sql is not None and "WHERE ((outcome)::text = 'parked'::text)" in sql
                # On an empty table a sequential scan is cheapest; without it, the planner must
                # find an index that serves the lookup as the code writes it.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan: list[str] = []
            real_execute = conn.execute

            def explaining(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
                compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
                explain = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
                plan.extend(str(row[-1]) for row in real_execute(text(f"{explain} {compiled}")))
                return real_execute(statement, *args, **kwargs)

            conn.execute = explaining  # type: ignore[method-assign]
            assert received_repo.parked_events(conn, 1, ["KL-1", "KL-2"]) == {}
        if sqlite:  # by the partial index or by (account, outcome): both read parked rows only
            assert any(step.startswith("SEARCH received_events USING INDEX") for step in plan), plan
            assert not any(step.startswith("SCAN received_events") for step in plan), plan
        else:
            assert any("ix_received_events_parked_order" in step for step in plan), plan
            assert not any("Seq Scan" in step for step in plan), plan
        names = {ix.name for ix in metadata.tables["received_events"].indexes}
        assert "ix_received_events_account_order" not in names
    finally:
        engine.dispose()


def test_rows_without_a_digest_skip_its_index_and_the_lookup_by_digest_still_uses_it(home, database_url):
    """A replay's row has no digest (migration 0005 leaves it out of the index); the
    planner must still see that `digest IN (...)` can only want rows the index holds."""
    from sqlalchemy import event, text

    from channelport.store import received as received_repo

    engine = make_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    asked: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "digest IN" in statement:
            asked.append((statement, parameters))

    try:
        with engine.begin() as conn:
            if sqlite:
                sql = conn.execute(text(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_received_events_account_digest'")).scalar()
                assert sql is not None and sql.endswith("WHERE digest IS NOT NULL")
            else:
                sql = conn.execute(text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_received_events_account_digest'")).scalar()
                assert sql is not None and sql.endswith("WHERE (digest IS NOT NULL)")
                conn.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: see the test above
            assert received_repo.settled_digests(conn, 1, ["a" * 64, "b" * 64]) == {}
            assert len(asked) == 1
            statement, parameters = asked[0]
            explain = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
            plan = [str(row[-1]) for row in conn.exec_driver_sql(f"{explain} {statement}", parameters)]
        assert any("ix_received_events_account_digest" in step for step in plan), plan
        assert not any(step.startswith("SCAN received_events") or "Seq Scan" in step for step in plan), plan
    finally:
        engine.dispose()
