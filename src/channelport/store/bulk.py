"""Many rows per statement (`executemany`, `COPY`), handed to the driver as plain tuples.

The sync writes thousands of rows per page. Through SQLAlchemy Core every value of
every row passes its column type's bind processor (instants, JSON) and every row is
a dict matched against the compiled statement; in the backfill profile that was a
fifth of the storing thread. Here the few columns that need it are converted once, by
the code that knows what they hold, and the statement is plain SQL in the driver's
own parameter style. Table and column names still come from `store.tables`, so the
schema has one source.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic_core import PydanticSerializationError, to_json
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Integer, String, Table
from sqlalchemy.types import TypeEngine

from channelport.store.types import UTCDateTime, sqlite_instant, utc_instant


CHUNK = 500  # values per IN list: well below every backend's parameter limit


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class Bulk:
    """Statements and value conversions for one connection's database."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.instant: Callable[[datetime], Any] = sqlite_instant if self.sqlite else utc_instant
        self._mark = "?" if self.sqlite else "%s"

    def marks(self, count: int) -> str:
        return ", ".join([self._mark] * count)

    @property
    def mark(self) -> str:
        return self._mark

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows as the driver returns them: read columns with `store.types.read_instant` and `read_json`."""
        return self.conn.exec_driver_sql(sql, tuple(params)).fetchall()

    def fetch_in(self, select: str, account_id: int, column: str, values: Iterable[Any]) -> list[Any]:
        """The rows of `select` (its SELECT ... FROM part) of one account whose `column` is among `values`.

        The values go in IN lists of `CHUNK`, sorted, so that equal sets ask equal statements.
        """
        rows: list[Any] = []
        for chunk in chunks(sorted(set(values))):
            rows.extend(self.fetch(
                f"{select} WHERE account_id = {self._mark} AND {column} IN ({self.marks(len(chunk))})",
                (account_id, *chunk),
            ))
        return rows

    @staticmethod
    def read_json(value: Any) -> Any:
        """SQLite hands back the text, psycopg the decoded value."""
        return json.loads(value) if isinstance(value, str) else value

    def maybe_instant(self, value: datetime | None) -> Any:
        return None if value is None else self.instant(value)

    @staticmethod
    def json(value: Any) -> str | None:
        """A JSON column's value; None stays SQL NULL, as SQLAlchemy's JSON type keeps it.

        pydantic-core's serialiser writes these values (the log's normalized events, the
        orders' addresses, the history) three times faster than `json.dumps`, which had
        4.6 % of a first backfill's interpreter time. It writes compact UTF-8 where
        `json.dumps` wrote spaces and \\u escapes; both read back as the same value. A
        value it cannot write (a lone surrogate) gets the standard library's text, which
        escapes it: `content.entry_text`'s fallback keeps it raw, which no column takes.
        """
        if value is None:
            return None
        try:
            return to_json(value, inf_nan_mode="constants").decode("utf-8")
        except (PydanticSerializationError, UnicodeDecodeError, ValueError):
            return json.dumps(value)

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert the rows: one executemany on SQLite, one binary COPY on PostgreSQL.

        psycopg's executemany sends a statement per row; COPY streams them all, and was
        most of the difference between the two databases' backfills. In the binary form
        the server parses no text into numbers and instants: a page of 1,000 log rows
        took 17 ms instead of 19.5 (bench/README.md, session 9).
        """
        if not rows:
            return
        names = ", ".join(_quoted(c) for c in columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))
            return
        with self._driver_cursor() as cursor:
            _copy(cursor, f"{table.name} ({names})", [copy_type(table.c[c].type) for c in columns], rows)

    def update(
        self, table: Table, columns: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """UPDATE each row: `columns` values first, then the `keys` that pick the row (each row once).

        SQLite takes an `executemany`. PostgreSQL takes a binary COPY into a temporary
        table and one UPDATE joined to it. psycopg's pipelined `executemany` waits for
        the server many times per batch, and after each wait its thread must win the
        interpreter lock back: beside the storing thread deciding the next page
        (services/sync.py, `_Writer`), 700 order updates took 390-650 ms that way instead
        of 10-18, and through the staging table 65 ms (6-8 ms with nothing beside it). Arrays
        (`UPDATE ... FROM unnest(...)`) wait once, but psycopg builds them in Python, which
        cost more than the waits saved (bench/README.md, session 13).
        """
        if not rows:
            return
        if len({tuple(row[len(columns):]) for row in rows}) != len(rows):
            raise ValueError(f"Bulk.update of {table.name}: a row is picked twice; one statement would keep either")
        if self.sqlite:
            sets = ", ".join(f"{_quoted(c)} = ?" for c in columns)
            where = " AND ".join(f"{_quoted(k)} = ?" for k in keys)
            self.conn.exec_driver_sql(f"UPDATE {table.name} SET {sets} WHERE {where}", list(rows))
            return
        names = [*columns, *keys]
        kinds = [copy_type(table.c[name].type) for name in names]
        staged = _staging_table(table, names)
        sets = ", ".join(
            f"{_quoted(c)} = v.{_quoted(c)}" + ("::json" if isinstance(table.c[c].type, JSON) else "") for c in columns
        )
        where = " AND ".join(f"t.{_quoted(k)} = v.{_quoted(k)}" for k in keys)
        with self._driver_cursor() as cursor:
            # Created once per connection, emptied by each commit; emptied here too, in case
            # one transaction updates the same columns twice. One round trip for both.
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} "
                f"({', '.join(f'{_quoted(n)} {kind}' for n, kind in zip(names, kinds))}) ON COMMIT DELETE ROWS; "
                f"DELETE FROM {staged}"
            )
            _copy(cursor, staged, kinds, rows)
            cursor.execute(f"UPDATE {table.name} AS t SET {sets} FROM {staged} AS v WHERE {where}")

    def _driver_cursor(self) -> Any:
        """A psycopg cursor in the same transaction as `self.conn` (PostgreSQL only)."""
        return self.conn.connection.driver_connection.cursor()


_COPY_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (UTCDateTime, "timestamptz"),
    (Boolean, "bool"),
    (BigInteger, "int8"),  # before Integer, of which it is a kind
    (Integer, "int4"),
    ((String, JSON), "text"),  # Text is a String
)


def copy_type(column_type: TypeEngine[Any]) -> str:
    """The PostgreSQL type a binary COPY writes a column's values as (the values `Bulk` makes).

    A JSON column gets text: the binary form of `json` is its text, and `Bulk.json` has
    written the value as JSON text already. A type not listed raises, so that a new
    column's type is chosen here rather than guessed.
    """
    for kinds, name in _COPY_TYPES:
        if isinstance(column_type, kinds):
            return name
    raise TypeError(f"no binary COPY type for the column type {column_type!r}")


def _copy(cursor: Any, target: str, kinds: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows into `target` (a table, with its column list where not all) by one binary COPY."""
    with cursor.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(kinds))
        for row in rows:
            copy.write_row(row)


def _staging_table(table: Table, columns: Sequence[str]) -> str:
    """A temporary table's name for updates of these columns of `table` (a name per set of columns)."""
    return f"staged_{table.name}_{zlib.crc32(','.join(columns).encode()):08x}"


def _quoted(column: str) -> str:
    """`position`, `type` and `before` are fine unquoted, but the schema may grow a keyword."""
    return f'"{column}"'
