"""`channelport account ...`: the sales channel management (Verkaufskanalverwaltung)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from channelport.cli.common import console, local_text, parse_pairs, read_secret_envs, read_token, runtime
from channelport.domain.accounts import Account
from channelport.domain.instants import utc_to_local
from channelport.services import accounts as service

account_app = typer.Typer(help="Channel accounts: connect, list, edit, lock and remove.", no_args_is_help=True)

TokenEnv = Annotated[Optional[str], typer.Option("--token-env", metavar="VAR", help="Read the token from this environment variable.")]
TokenStdin = Annotated[bool, typer.Option("--token-stdin", help="Read the token from the first line of standard input.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE", help="A setting of the connector kind (repeatable).")]
SecretOpt = Annotated[Optional[list[str]], typer.Option("--secret", metavar="KEY=ENVVAR", help="A further secret of the kind, read from ENVVAR (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@account_app.command("add")
def add(
    name: str,
    kind: Annotated[str, typer.Option(help="Connector kind; `channelport connectors` lists them.")],
    url: Annotated[str, typer.Option(help="The channel's base URL.")],
    seller_id: Annotated[str, typer.Option("--seller-id", help="Your seller id on the channel.")],
    token_env: TokenEnv = None,
    token_stdin: TokenStdin = False,
    timezone: Annotated[str, typer.Option(help="Time zone for the Import tab's dates.")] = "Europe/Berlin",
    set_: SetOpt = None,
    secret: SecretOpt = None,
) -> None:
    """Connect a channel account. The token is stored encrypted and never shown again."""
    token = read_token(token_env, token_stdin, required=True)
    with runtime() as rt:
        account = service.add_account(
            rt,
            name=name,
            kind=kind,
            url=url,
            seller_id=seller_id,
            token=token or "",
            timezone=timezone,
            settings=parse_pairs(set_, "--set"),
            secrets=read_secret_envs(secret),
        )
    console.print(f"Account [bold]{account.name}[/] added ({account.kind}, seller {account.seller_id}).")
    console.print(f"Next: choose what to import with `channelport import request {account.name} --from YYYY-MM-DD`.")


@account_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """All accounts at a glance: active, locked with reason, last sync."""
    with runtime() as rt:
        accounts = service.list_accounts(rt)
    if as_json:
        console.print_json(json.dumps([_account_json(a) for a in accounts]))
        return
    if not accounts:
        console.print("No accounts yet. Add one with `channelport account add NAME --kind ... --url ...`.")
        return
    table = Table("Account", "Kind", "Seller", "Status", "Last sync", "Result")
    for a in accounts:
        status = a.status if not a.locked else f"locked: {a.lock_reason}"
        last = local_text(utc_to_local(a.last_sync_at, a.timezone)) if a.last_sync_at else "never"
        table.add_row(a.name, a.kind, a.seller_id, status, last, a.last_sync_status or "-")
    console.print(table)


@account_app.command("show")
def show(name: str, as_json: JsonOpt = False) -> None:
    """One account's settings. Credentials are masked."""
    with runtime() as rt:
        account = service.get_account(rt, name)
    data = _account_json(account)
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        table.add_row(key, "-" if value is None else str(value))
    console.print(table)


@account_app.command("edit")
def edit(
    name: str,
    url: Annotated[Optional[str], typer.Option()] = None,
    seller_id: Annotated[Optional[str], typer.Option("--seller-id")] = None,
    token_env: TokenEnv = None,
    token_stdin: TokenStdin = False,
    timezone: Annotated[Optional[str], typer.Option()] = None,
    set_: SetOpt = None,
    secret: SecretOpt = None,
) -> None:
    """Change an account's URL, seller id, token, time zone or settings."""
    token = read_token(token_env, token_stdin, required=False)
    with runtime() as rt:
        account = service.edit_account(
            rt,
            name,
            url=url,
            seller_id=seller_id,
            token=token,
            timezone=timezone,
            settings=parse_pairs(set_, "--set") or None,
            secrets=read_secret_envs(secret) or None,
        )
    console.print(f"Account [bold]{account.name}[/] updated.")


@account_app.command("activate")
def activate(name: str) -> None:
    """Include the account in syncs again."""
    with runtime() as rt:
        service.set_active(rt, name, active=True)
    console.print(f"Account [bold]{name}[/] is active.")


@account_app.command("deactivate")
def deactivate(name: str) -> None:
    """Leave the account out of every sync until it is activated again."""
    with runtime() as rt:
        service.set_active(rt, name, active=False)
    console.print(f"Account [bold]{name}[/] is inactive.")


@account_app.command("lock")
def lock(name: str, reason: Annotated[str, typer.Option(help="Why; shown to everyone.")]) -> None:
    """Lock the account's sync (Abgleich sperren): the worker and manual syncs skip it."""
    with runtime() as rt:
        service.lock_account(rt, name, reason=reason)
    console.print(f"Account [bold]{name}[/] is locked: {reason}")


@account_app.command("unlock")
def unlock(name: str) -> None:
    """Allow the account's sync again."""
    with runtime() as rt:
        service.unlock_account(rt, name)
    console.print(f"Account [bold]{name}[/] is unlocked.")


@account_app.command("remove")
def remove(
    name: str,
    delete_orders: Annotated[bool, typer.Option("--delete-orders", help="Also delete its imported orders.")] = False,
) -> None:
    """Remove an account (refused while it has imported orders, unless --delete-orders)."""
    with runtime() as rt:
        removed = service.remove_account(rt, name, delete_orders=delete_orders)
    suffix = f" with its {removed} orders" if removed else ""
    console.print(f"Account [bold]{name}[/] removed{suffix}.")


def _account_json(a: Account) -> dict[str, object]:
    return {
        "name": a.name,
        "kind": a.kind,
        "url": a.url,
        "sellerId": a.seller_id,
        "timezone": a.timezone,
        "status": a.status,
        "active": a.active,
        "locked": a.locked,
        "lockReason": a.lock_reason,
        "credentials": "****** (stored encrypted)",
        "credentialsRejected": a.credentials_rejected,
        "settings": a.settings,
        "lastSyncAt": a.last_sync_at.isoformat() if a.last_sync_at else None,
        "lastSyncStatus": a.last_sync_status,
    }
