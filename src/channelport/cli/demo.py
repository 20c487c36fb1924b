"""`channelport demo`: the whole story in under a minute, on throw-away data."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from channelport.cli.common import console
from channelport.services.demo import run_demo


def demo(
    seed: Annotated[int, typer.Option(help="Seed of the simulated marketplace.")] = 1,
    orders_per_day: Annotated[float, typer.Option(min=1, max=5000, help="Orders per seller and day.")] = 120,
) -> None:
    """Run the demo: outage, request again from the outage day, manual sync, compare with the channel."""
    console.rule("Channelport demo")
    with console.status("working...") as status:
        def step(text: str) -> None:
            console.print(f"• {text}")

        def progress(p) -> None:  # type: ignore[no-untyped-def]
            status.update(f"{p.account}: {p.phase}, {p.events} events")

        result = run_demo(seed=seed, orders_per_day=orders_per_day, on_step=step, on_progress=progress)
    table = Table("Account", "Sync", "On channel", "Imported", "Duplicates", "Mismatches")
    for a in result.accounts:
        c = a.comparison
        if c is None:
            table.add_row(a.name, a.status, "-", "-", "-", "-")
        else:
            table.add_row(a.name, a.status, str(c.channel_orders), str(c.imported_orders), str(len(c.duplicates)),
                          str(c.mismatches))
    console.print(table)
    for a in result.accounts:
        if a.note or (a.comparison and not a.comparison.exact):
            details = a.note or "; ".join(a.comparison.describe(3))  # type: ignore[union-attr]
            console.print(f"{a.name} {a.status}: {details}", soft_wrap=True)
    console.print(f"{result.events} events processed in {result.seconds:.1f} s.")
    if not result.ok:
        console.print("[bold red]MISMATCH: the import does not equal the channel's truth.[/]")
        sys.exit(1)
    console.print("[bold green]Every order exactly once and in its true state.[/]")
