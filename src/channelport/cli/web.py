"""`channelport serve`, `user ...` and `token ...`: the web interface and who may use it.

Secrets never pass through the command line, where the shell history and `ps` would
keep them: a password is read from standard input (or prompted for), and a new API
token is printed once, alone on stdout, so `TOKEN=$(channelport token create ...)`
captures exactly it.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Annotated

import typer
from rich.table import Table

from channelport import logs
from channelport.cli.common import console, err_console, local_text, runtime
from channelport.errors import UsageError
from channelport.services import users as service

user_app = typer.Typer(help="Users of the web interface.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for the REST API.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback exposes the interface.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    sync_concurrency: Annotated[int, typer.Option(min=1, max=32, help="Accounts a manual sync runs at once.")] = 4,
) -> None:
    """Serve the REST API (/api/v1) and the web interface; log in with a user from `user add`."""
    import uvicorn

    from channelport.web import create_app

    if not _is_loopback(host):
        err_console.print(f"Warning: listening on {host}, reachable from other machines; put TLS in front of it.")
    with runtime() as rt:
        if not service.list_users(rt):
            err_console.print("No user yet: create one with `channelport user add NAME --password-stdin`.")
        app = create_app(rt, sync_concurrency=sync_concurrency)
        err_console.print(f"Channelport on http://{host}:{port}/ (API: /api/v1, Ctrl+C stops)")
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False,
                    log_config=logs.uvicorn_log_config())


@user_app.command("add")
def user_add(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]
    = False,
) -> None:
    """Create a user; the password comes from stdin (--password-stdin) or a prompt, never an argument."""
    password = _read_password(password_stdin)
    with runtime() as rt:
        service.add_user(rt, name=name, password=password)
    console.print(f"User {name} created.")


@user_app.command("password")
def user_password(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]
    = False,
) -> None:
    """Set a new password; the user's open sessions end."""
    password = _read_password(password_stdin)
    with runtime() as rt:
        service.set_password(rt, name=name, password=password)
    console.print(f"Password of {name} changed.")


@user_app.command("remove")
def user_remove(name: str) -> None:
    """Remove a user; their sessions end at once."""
    with runtime() as rt:
        service.remove_user(rt, name=name)
    console.print(f"User {name} removed.")


@user_app.command("list")
def user_list() -> None:
    """The users' names."""
    with runtime() as rt:
        names = service.list_users(rt)
    for name in names:
        console.print(name)
    if not names:
        console.print("No users yet.")


@token_app.command("create")
def token_create(name: Annotated[str, typer.Option("--name", help="A name to recognise and revoke it by.")]) -> None:
    """Create an API token and print it, alone, on stdout. It is shown only this once."""
    with runtime() as rt:
        token = service.create_token(rt, name=name)
    sys.stdout.write(token + "\n")


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    with runtime() as rt:
        service.revoke_token(rt, name=name)
    err_console.print(f"Token {name} revoked.")


@token_app.command("list")
def token_list() -> None:
    """The tokens' names and when each was last used (never the tokens themselves)."""
    with runtime() as rt:
        tokens = service.list_tokens(rt)
    table = Table("Name", "Created (UTC)", "Last used (UTC)")
    for t in tokens:
        table.add_row(t.name, local_text(t.created_at), local_text(t.last_used_at))
    console.print(table)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password; pipe it in with --password-stdin")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
