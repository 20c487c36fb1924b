"""`channelport import ...`: the Import tab, and requesting order data again from a date."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from channelport.cli.common import console, err_console, local_text, parse_date, parse_time, runtime
from channelport.domain.instants import utc_to_local
from channelport.services import event_imports as service

import_app = typer.Typer(help="The Import tab: which events to import, and from when.", no_args_is_help=True)

LABELS = {
    "order": "Orders (Bestellungen)",
    "status": "Order status updates (Statusaktualisierung)",
    "address": "Order address updates (Adressaktualisierung)",
    "cancellation_accepted": "Accepted cancellations (Akzeptiere Bestellstornierung)",
    "cancellation_denied": "Denied cancellations (Abgelehnte Bestellstornierung)",
}


@import_app.command("show")
def show(name: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The five events with enabled, "from" in the account's local time, and pending."""
    with runtime() as rt:
        rows = service.show_imports(rt, name)
    if as_json:
        typer.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    _print_rows(rows)


@import_app.command("request")
def request(
    name: str,
    from_: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD", help="Local date to request data from.")],
    time_: Annotated[Optional[str], typer.Option("--time", metavar="HH:MM[:SS]", help="Local time (default 00:00:00).")] = None,
    events: Annotated[str, typer.Option(help="all, or a comma list: order,status,address,cancellation_accepted,cancellation_denied")] = "all",
) -> None:
    """Request order data again from a date: enables the events and gives each the same "from"."""
    chosen = service.parse_events(events)
    day, at = parse_date(from_), parse_time(time_)
    with runtime() as rt:
        result = service.request_imports(rt, name, day=day, at=at, events=chosen)
    _explain(result)
    _print_rows(result.rows)


@import_app.command("set")
def set_(
    name: str,
    event: str,
    enable: Annotated[Optional[bool], typer.Option("--enable/--disable", help="Import this event or not.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", metavar="YYYY-MM-DD")] = None,
    time_: Annotated[Optional[str], typer.Option("--time", metavar="HH:MM[:SS]")] = None,
) -> None:
    """Change one event's row: enable or disable it, optionally with a new "from"."""
    event_type = service.parse_event(event)
    if enable is None:
        from channelport.errors import UsageError

        raise UsageError("say --enable or --disable")
    day = parse_date(from_) if from_ else None
    at = parse_time(time_) if time_ else None
    with runtime() as rt:
        result = service.set_import(rt, name, event_type, enabled=enable, day=day, at=at)
    if isinstance(result, service.RequestResult):
        _explain(result)
        rows = result.rows
    else:
        rows = result
    _print_rows(rows)


def _explain(result: service.RequestResult) -> None:
    local = utc_to_local(result.instant, result.timezone)
    if result.ambiguous:
        err_console.print(
            f"Note: {local:%Y-%m-%d %H:%M:%S} occurs twice in {result.timezone} (clocks go back); "
            f"the earlier one was taken ({local:%H:%M:%S%z})."
        )
    console.print(f"Saved. The data from {local_text(local)} ({result.timezone}) will be imported at the next sync.")


def _print_rows(rows: list[service.ImportRow]) -> None:
    table = Table("Event", "Import", "From (local)", "Pending")
    for row in rows:
        table.add_row(
            LABELS[str(row.event_type)],
            "yes" if row.enabled else "no",
            local_text(row.from_local),
            "yes" if row.pending else "",
        )
    console.print(table)
