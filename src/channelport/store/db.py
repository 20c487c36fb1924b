"""Engines and the unit of work: the one place that opens and commits transactions.

SQLite gets `BEGIN IMMEDIATE`: a sync reads then writes, and a deferred transaction
that later needs the write lock fails with "database is locked" instead of waiting.
WAL lets the web and the CLI read while a sync writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

READ_ONLY = "channelport_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _plan_every_execution)
    return engine


def _plan_every_execution(dbapi_connection: Any, _record: Any) -> None:
    """Plan each statement for its own parameters, never from a cached generic plan.

    psycopg prepares a statement run five times, and PostgreSQL may then keep one
    generic plan for it. A backfill starts on empty tables: the generic plan of the
    per-page lookups (event ids, order ids) chosen then was a sequential scan, kept
    while the tables grew, which made each page slower than the last (the first
    backfill of 10,000 orders spent 60 % of its time in one such lookup).
    """
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


WAL_CHECKPOINT_PAGES = 10_000


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    # 32 prepared statements per connection instead of 128: the sync's IN lists come in
    # every length up to 500, and 128 compiled lists of that size were about 10 MB of a
    # backfill's peak memory; the few fixed statements still stay prepared.
    engine = create_engine(
        url, connect_args={"timeout": 60, "check_same_thread": False, "cached_statements": 32}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when COMMIT returns. The sync acknowledges a page to
        # the channel right after its commit, and the channel then forgets the events;
        # under NORMAL a power cut could still roll that commit back (WAL mode syncs only
        # at checkpoints), and the acknowledged events would be lost for good.
        cursor.execute("PRAGMA synchronous=FULL")
        # Checkpoint every 10,000 WAL pages (about 40 MB) instead of 1,000: a page of a
        # thousand events writes 600 KB and more, and each checkpoint copied the same hot
        # index pages back into the database again (bench/README.md, session 7).
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with engine.begin() as connection:
        yield connection


def spare_connection(engine: Engine) -> bool:
    """Fewer connections out than the pool keeps: taking one more neither waits nor overflows.

    Work that only saves time (a replay screen, a page decided beside the one being
    written) asks first, so that a worker syncing many accounts at once never waits
    for a connection, or opens more than its documented share, for it.
    """
    pool = engine.pool
    checkedout, size = getattr(pool, "checkedout", None), getattr(pool, "size", None)
    return checkedout is None or size is None or checkedout() < size()


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection for queries; nothing it does is committed, and it takes no write lock."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        yield connection
        connection.rollback()


HOT_TABLES = ("received_events", "orders", "order_items", "order_history")


STALE_SHARE = 0.2  # of a table's rows at its last ANALYZE: changed by more, it is analysed again
STALE_ROWS = 1000  # and by at least this many


def refresh_statistics(conn: Connection) -> tuple[str, ...]:
    """Let PostgreSQL's planner see how big the sync's tables have grown (SQLite: nothing).

    A backfill fills them from empty within minutes; autovacuum may not have analysed
    them yet, or may be off (as on this project's test machines), and plans chosen for
    empty tables read whole tables per page. ANALYZE samples and takes no lock that
    blocks reads or writes, but each table costs a few tenths of a second: only the
    tables changed by a fifth since their last ANALYZE are analysed. A request again
    from a date adds only log rows; analysing the order tables too took 7.7 % of such a
    sync's wall time at N = 30,000 (bench/README.md, session 9). Returns the tables analysed.
    """
    if conn.dialect.name != "postgresql":
        return ()
    stale = stale_tables(conn)
    if stale:
        conn.exec_driver_sql(f"ANALYZE {', '.join(stale)}")
    return stale


def stale_tables(conn: Connection) -> tuple[str, ...]:
    """The HOT_TABLES whose statistics lag behind their rows (all, where PostgreSQL counts no changes)."""
    names = ", ".join(f"to_regclass('{name}')" for name in HOT_TABLES)
    rows = conn.exec_driver_sql(
        "SELECT c.relname, c.reltuples, s.n_mod_since_analyze, current_setting('track_counts') = 'on'"
        f" FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid IN ({names})"
    ).fetchall()
    counted = all(row[3] for row in rows)
    changed = {name: (rows_then, modified) for name, rows_then, modified, _ in rows}
    stale = []
    for name in HOT_TABLES:
        rows_then, modified = changed.get(name, (-1, None))
        never = modified is None or rows_then < 0  # reltuples -1: never analysed (PostgreSQL 14 on)
        if not counted or never or modified >= STALE_ROWS + STALE_SHARE * rows_then:
            stale.append(name)
    return tuple(stale)
