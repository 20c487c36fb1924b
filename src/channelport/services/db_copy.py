"""Copy the installation's database into another one: `channelport db copy --to URL`.

The way from SQLite to PostgreSQL (and back). Step by step:

1. refuse when the target is this installation's own database, or while a worker is
   alive (anything written during the copy would be missing from the target);
2. migrate the target to this version's schema with Alembic (`init` does the same);
3. refuse a target that holds any row, unless `force` (then its rows are deleted); a
   target that only `channelport init` touched counts as empty;
4. copy every table in dependency order (parents before children), in chunks, from one
   consistent read of the source, into ONE transaction on the target: a copy that fails
   half-way leaves the target as it was;
5. move PostgreSQL's id sequences past the copied ids, so new rows get fresh ids;
6. verify: the row count and a digest of every row of every table, and the order export
   (DESIGN.md "Export format"), must be equal on both sides.

The copy holds the credentials sealed as they are: the target installation needs the
same secret key (`CHANNELPORT_HOME/secret.key` or `CHANNELPORT_SECRET_KEY`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from channelport.errors import ChannelportError, UsageError
from channelport.services.orders import export_orders
from channelport.services.runtime import Runtime
from channelport.store import migrate
from channelport.store.db import READ_ONLY, make_engine, read_only, unit_of_work
from channelport.store.tables import metadata

DEFAULT_CHUNK = 1000
IGNORED_TABLES = frozenset({"alembic_version"})
INIT_TABLES = frozenset({"edition"})  # what `channelport init` writes: a target with only these counts as empty

ProgressCallback = Callable[[str, int, int], None]  # table, rows copied so far, rows in the table


@dataclass(frozen=True)
class TableResult:
    name: str
    source_rows: int
    target_rows: int
    identical: bool


@dataclass(frozen=True)
class CopyResult:
    source: str  # URLs with the password hidden
    target: str
    revision: str
    cleared: bool
    tables: list[TableResult] = field(default_factory=list)
    exported_orders: int = 0
    exports_equal: bool = False

    @property
    def rows(self) -> int:
        return sum(t.target_rows for t in self.tables)

    @property
    def problems(self) -> list[str]:
        found = [
            f"table {t.name}: {t.source_rows} rows in the source, {t.target_rows} in the target"
            if t.source_rows != t.target_rows else f"table {t.name}: the rows differ"
            for t in self.tables if not t.identical
        ]
        if not self.exports_equal:
            found.append("the order exports differ")
        return found

    @property
    def verified(self) -> bool:
        return not self.problems


def copy_database(
    rt: Runtime,
    *,
    to_url: str,
    force: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: ProgressCallback | None = None,
    allow_live_workers: bool = False,
) -> CopyResult:
    """Copy every row of this installation's database into `to_url`, then verify."""
    report = on_progress or (lambda _t, _n, _total: None)
    source_url = rt.settings.effective_database_url
    if _same_database(source_url, to_url):
        raise UsageError("the target is the database this installation uses; give another --to URL")
    if not allow_live_workers:
        _refuse_live_workers(rt)
    tables = _tables_to_copy(rt.engine)
    target = _open_target(to_url)
    try:
        revision = _migrate_target(target, to_url)
        occupied = {name: n for name, n in _row_counts(target, tables).items() if n}
        data = {name: n for name, n in occupied.items() if name not in INIT_TABLES}
        if data and not force:
            listed = ", ".join(f"{name} ({n})" for name, n in sorted(data.items()))
            raise UsageError(
                f"the target database is not empty: {listed}; "
                "pass --force to replace its contents, or choose an empty database"
            )
        with _consistent_read(rt.engine) as src, unit_of_work(target) as dst:
            if occupied:
                for table in reversed(tables):
                    dst.execute(delete(table))
            for table in tables:
                _copy_table(src, dst, table, chunk_size, report)
            _advance_sequences(dst, tables)
        result = _verify(rt, target, tables)
    finally:
        target.dispose()
    return CopyResult(
        source=_shown(source_url), target=_shown(to_url), revision=revision, cleared=bool(data), **result,
    )


# --- preconditions ---------------------------------------------------------------------------


def _same_database(a: str, b: str) -> bool:
    try:
        ua, ub = make_url(a), make_url(b)
    except ArgumentError:
        return False
    if ua.get_backend_name() == ub.get_backend_name() == "sqlite":
        return bool(ua.database) and bool(ub.database) and Path(ua.database).resolve() == Path(ub.database).resolve()
    return ua.render_as_string(hide_password=False) == ub.render_as_string(hide_password=False)


def _refuse_live_workers(rt: Runtime) -> None:
    from channelport.services.worker import worker_status

    alive = [w for w in worker_status(rt) if w.alive]
    if alive:
        names = ", ".join(f"{w.id}" for w in alive[:5])
        raise UsageError(
            f"{len(alive)} worker(s) are running against this database ({names}); "
            "stop every worker and the web interface first, so that nothing changes during the copy"
        )


def _tables_to_copy(engine: Engine) -> list[Table]:
    """Every table of the schema, parents first; refuses a source with tables this version does not know."""
    present = set(inspect(engine).get_table_names()) - IGNORED_TABLES
    unknown = present - set(metadata.tables)
    if unknown:
        raise ChannelportError(
            f"the source database has tables this version of Channelport does not know: {', '.join(sorted(unknown))}; "
            "copy with the version that created them"
        )
    return list(metadata.sorted_tables)


def _open_target(url: str) -> Engine:
    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise UsageError(
            f"not a database URL: {_shown(url)} ({exc}); write e.g. postgresql+psycopg://user@host/db "
            "or sqlite:////var/lib/channelport/channelport.db"
        ) from None


def _migrate_target(target: Engine, url: str) -> str:
    from alembic.util import CommandError  # here: Alembic is slow to import and only copying needs it

    try:
        _before, after = migrate.upgrade(target)
    except DBAPIError as exc:
        raise ChannelportError(
            f"cannot use the target database {_shown(url)}: {str(exc.orig).strip().splitlines()[0]}; "
            "check the URL, that the database exists and that the user may create tables"
        ) from None
    except CommandError:  # alembic: the target's revision is one this version does not know
        raise UsageError(
            "the target database was migrated by a newer version of Channelport; copy into an empty database"
        ) from None
    return after


def _row_counts(engine: Engine, tables: list[Table]) -> dict[str, int]:
    with read_only(engine) as conn:
        return {table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0) for table in tables}


# --- the copy ----------------------------------------------------------------------------------


@contextmanager
def _consistent_read(engine: Engine) -> Iterator[Connection]:
    """One read transaction over the whole copy: every table from the same moment."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as conn:
        with conn.begin():
            yield conn


def _copy_table(src: Connection, dst: Connection, table: Table, chunk_size: int, report: ProgressCallback) -> None:
    total = int(src.scalar(select(func.count()).select_from(table)) or 0)
    report(table.name, 0, total)
    rows = src.execution_options(stream_results=True, yield_per=chunk_size).execute(_ordered(table))
    copied = 0
    for chunk in rows.partitions(chunk_size):
        dst.execute(insert(table), [dict(row._mapping) for row in chunk])
        copied += len(chunk)
        report(table.name, copied, total)


def _ordered(table: Table) -> Any:
    return select(table).order_by(*table.primary_key.columns)


def _advance_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from sequences, which know nothing of the copied ids."""
    if conn.dialect.name != "postgresql":
        return  # SQLite takes the next id from the table itself
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        column = pk[0].name
        conn.execute(
            text(
                f'SELECT setval(pg_get_serial_sequence(:table, :column), '
                f'COALESCE((SELECT MAX("{column}") FROM "{table.name}"), 0) + 1, false)'
            ),
            {"table": f'"{table.name}"', "column": column},
        )


# --- verification ------------------------------------------------------------------------------


def _verify(rt: Runtime, target: Engine, tables: list[Table]) -> dict[str, Any]:
    """Read both databases again, table by table, and compare; then compare the exports."""
    results = []
    with read_only(rt.engine) as src, read_only(target) as dst:
        for table in tables:
            source_rows, source_digest = _digest(src, table)
            target_rows, target_digest = _digest(dst, table)
            results.append(TableResult(table.name, source_rows, target_rows, source_digest == target_digest))
    source_orders, source_export = _export_digest(rt)
    target_orders, target_export = _export_digest(Runtime(settings=rt.settings, engine=target, clock=rt.clock))
    return {
        "tables": results,
        "exported_orders": target_orders,
        "exports_equal": source_orders == target_orders and source_export == target_export,
    }


def _digest(conn: Connection, table: Table) -> tuple[int, str]:
    """Row count and SHA-256 over every row, as Python values, in primary-key order."""
    digest = hashlib.sha256()
    count = 0
    for row in conn.execution_options(stream_results=True, yield_per=DEFAULT_CHUNK).execute(_ordered(table)):
        digest.update(_canonical(dict(row._mapping)))
        count += 1
    return count, digest.hexdigest()


def _export_digest(rt: Runtime) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    for order in export_orders(rt):
        digest.update(_canonical(order))
        count += 1
    return count, digest.hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=_plain, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _plain(value: Any) -> str:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if isoformat else str(value)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"
