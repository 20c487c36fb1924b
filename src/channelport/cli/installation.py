"""`channelport init`, `edition ...` and `connectors`: the installation itself."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from channelport.cli.common import console, runtime
from channelport.connectors.registry import available_kinds
from channelport.domain.accounts import KNOWN_PACKAGES
from channelport.services import installation as service

edition_app = typer.Typer(help="The installation's booked packages (Edition).", no_args_is_help=True)


def init() -> None:
    """Create or migrate the database and the secret key (a no-op when both are current)."""
    result = service.init_installation()
    if not result.changed:
        console.print(f"Up to date: {result.database} (schema {result.revision_after}).")
        return
    console.print(f"Database ready: {result.database} (schema {result.revision_before or 'none'} -> {result.revision_after}).")
    if result.key_created:
        console.print(
            f"[bold yellow]A new secret key was created at {result.key_location}.[/] It encrypts every channel "
            "credential: back it up. Without it, all credentials must be entered again."
        )


@edition_app.command("show")
def show() -> None:
    """Which packages this installation has."""
    with runtime() as rt:
        packages = service.show_packages(rt)
    table = Table("Package", "Booked", "What it is")
    for name, what in KNOWN_PACKAGES.items():
        table.add_row(name, "yes" if name in packages else "no", what)
    console.print(table)


@edition_app.command("set")
def set_(
    packages: Annotated[str, typer.Option(help="Comma list of packages (orders, ...), or none.")],
) -> None:
    """Set the booked packages. Order import needs `orders`."""
    with runtime() as rt:
        chosen = service.set_packages(rt, packages=packages)
    console.print(f"Edition packages: {', '.join(sorted(chosen)) or 'none'}.")


def connectors() -> None:
    """The connector kinds installed, with their settings and secrets."""
    table = Table("Kind", "What", "Settings (--set)", "Secrets (--secret)")
    for name, kind in available_kinds().items():
        settings = ", ".join(
            f"{field}={info.default}" if not info.is_required() else f"{field} (required)"
            for field, info in kind.settings_model.model_fields.items()
        )
        table.add_row(name, kind.title, settings or "-", ", ".join(kind.secret_names) or "-")
    console.print(table)
