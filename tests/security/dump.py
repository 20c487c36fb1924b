"""Every row of every table, as text: what a copy of the database holds, and a snapshot to
compare before and after a request that should have changed nothing.

The tables are found by reflection, not taken from `store.tables`, so a table added later
(or one a migration forgot to describe there) is dumped too.
"""

from __future__ import annotations

import weakref
from sqlalchemy import Engine, MetaData, Table, select

from channelport.services.runtime import Runtime
from channelport.store.db import read_only

_reflected: weakref.WeakKeyDictionary[Engine, list[Table]] = weakref.WeakKeyDictionary()


def _tables(engine: Engine) -> list[Table]:
    """Reflected once per engine: reflection costs more than the dump of a small database."""
    if engine not in _reflected:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        _reflected[engine] = list(metadata.sorted_tables)
    return _reflected[engine]


def database_dump(rt: Runtime) -> str:
    lines = []
    with read_only(rt.engine) as conn:
        for table in _tables(rt.engine):
            order = list(table.primary_key.columns) or list(table.columns)
            lines.extend(f"{table.name}: {tuple(row)!r}" for row in conn.execute(select(table).order_by(*order)))
    return "\n".join(lines)
