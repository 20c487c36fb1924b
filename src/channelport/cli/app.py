"""The root command `channelport` and its groups."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from channelport import __version__, collector, logs
from channelport.cli import installation
from channelport.cli.accounts import account_app
from channelport.cli.errors import CliGroup
from channelport.cli.imports import import_app
from channelport.cli import sync as sync_cli
from channelport.cli.worker import worker_app
from channelport.cli.web import serve, token_app, user_app
from channelport.cli.demo import demo
from channelport.cli.db import db_app

app = typer.Typer(
    cls=CliGroup,
    help="Channelport: imports orders and order events from your sales channels, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"channelport {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens (to stderr).")] = False,
    log_format: Annotated[
        logs.LogFormat, typer.Option(envvar="CHANNELPORT_LOG_FORMAT", help="Log lines as text or as JSON lines.")
    ] = logs.LogFormat.text,
) -> None:
    """Channelport: imports orders and order events from your sales channels, exactly once."""
    # Commands report outcomes themselves; logs are for operators who ask (and for the worker).
    logs.configure_logging(log_format, logging.INFO if verbose else logging.ERROR)
    collector.tune()


app.command("init")(installation.init)
app.command("connectors")(installation.connectors)
app.add_typer(installation.edition_app, name="edition")
app.add_typer(account_app, name="account")
app.add_typer(import_app, name="import")
app.command("sync")(sync_cli.sync)
app.command("runs")(sync_cli.runs)
app.add_typer(sync_cli.orders_app, name="orders")
app.add_typer(sync_cli.events_app, name="events")
app.add_typer(worker_app, name="worker")
app.command("serve")(serve)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.command("demo")(demo)
app.add_typer(db_app, name="db")

try:  # the simulator's commands, when that package is present
    from channelport.simulator.cli import marketplace_app
except ImportError:  # pragma: no cover
    pass
else:
    app.add_typer(marketplace_app, name="marketplace")


def main() -> None:
    """The console script: the command, then a quick exit (collector.skip_exit_collections)."""
    try:
        app()
    finally:
        collector.skip_exit_collections()
