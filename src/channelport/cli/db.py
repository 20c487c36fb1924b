"""`channelport db copy --to URL`: move the installation to another database."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from channelport.cli.common import console, runtime
from channelport.services import db_copy as service

db_app = typer.Typer(help="The database: copy it to another one (SQLite to PostgreSQL and back).",
                     no_args_is_help=True)


@db_app.command("copy")
def copy(
    to: Annotated[str, typer.Option("--to", help="Target database URL, e.g. postgresql+psycopg://user@host/db.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the contents of a target that is not empty.")]
    = False,
    chunk_size: Annotated[int, typer.Option(min=1, max=100_000, help="Rows per insert.")] = service.DEFAULT_CHUNK,
) -> None:
    """Copy every table into the database at --to (migrating it first), then verify both are equal.

    Stop the workers and the web interface first. The copy keeps the credentials sealed:
    run the target with the same secret key. Exit code 1 when the verification fails.
    """
    progress = Progress(
        TextColumn("{task.description:<24}"), BarColumn(bar_width=None), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )
    tasks: dict[str, int] = {}

    def on_progress(table: str, copied: int, total: int) -> None:
        if not tasks:
            progress.start()  # only once the copy runs: a refusal prints its one line and nothing else
        if table not in tasks:
            tasks[table] = progress.add_task(table, total=max(total, 1))
        progress.update(tasks[table], completed=copied if total else 1)

    try:
        with runtime() as rt:
            result = service.copy_database(rt, to_url=to, force=force, chunk_size=chunk_size, on_progress=on_progress)
    finally:
        if tasks:
            progress.stop()
    _print(result)
    if not result.verified:
        sys.exit(1)


def _print(result: service.CopyResult) -> None:
    table = Table("Table", "Source rows", "Target rows", "Equal")
    for t in result.tables:
        table.add_row(t.name, str(t.source_rows), str(t.target_rows), "yes" if t.identical else "NO")
    console.print(table)
    console.print(f"Copied {result.rows} rows from {result.source} to {result.target} (schema {result.revision})"
                  + ("; the target's previous contents were replaced." if result.cleared else "."))
    console.print(f"Order exports: {result.exported_orders} orders, "
                  + ("identical." if result.exports_equal else "DIFFERENT."))
    if result.verified:
        console.print("Verified: both databases hold the same rows. Point every Channelport process at the new one "
                      "(CHANNELPORT_DATABASE_URL) and keep the same secret key.")
    else:
        for problem in result.problems:
            console.print(f"Problem: {problem}")
        console.print("The copy does not match. Did something write to the source during the copy? Stop every "
                      "worker and the web interface, then copy again with --force.")
