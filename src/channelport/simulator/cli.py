"""`channelport marketplace ...`: run the reference marketplace, read its truth.

Option values are taken as text and checked here, so that a bad value ends with exit
code 2 and one line on stderr (DESIGN.md "Exit codes"), the same whether this app runs
mounted under the root command or on its own.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from typing import Annotated, NoReturn, Optional

import httpx
import typer

from channelport.simulator.wire import UTC

DEMO_SELLER = ("S-1001", "demo-token")

marketplace_app = typer.Typer(
    help="The reference marketplace: a simulated sales channel speaking the Channel Event API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _integer(name: str, text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        _fail(f"{name} must be a whole number, got {text!r}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        _fail(f"{name} must be {bounds}, got {value}")
    return value


def _positive(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        _fail(f"{name} must be a number, got {text!r}")
    if not value > 0 or value == float("inf"):
        _fail(f"{name} must be greater than 0, got {text}")
    return value


def _sellers(values: list[str]) -> dict[str, str]:
    if not values:
        return dict([DEMO_SELLER])
    sellers: dict[str, str] = {}
    for value in values:
        seller_id, sep, token = value.partition(":")
        if not sep or not seller_id.strip() or not token.strip():
            _fail(f"--seller must look like ID:TOKEN, got {value!r}")
        if seller_id in sellers:
            _fail(f"--seller {seller_id} given twice")
        sellers[seller_id.strip()] = token.strip()
    if len(set(sellers.values())) != len(sellers):
        _fail("every --seller needs a token of its own")
    return sellers


@marketplace_app.command("serve")
def serve_command(
    port: Annotated[str, typer.Option("--port", help="Port on 127.0.0.1 (0 = any free port).")] = "8765",
    seed: Annotated[str, typer.Option("--seed", help="Seed of all randomness: same seed, same orders.")] = "1",
    seller: Annotated[
        Optional[list[str]],
        typer.Option("--seller", help="A seller as ID:TOKEN (repeatable). Default: one demo seller."),
    ] = None,
    orders: Annotated[str, typer.Option("--orders", help="Orders per seller generated before listening.")] = "500",
    days: Annotated[str, typer.Option("--days", help="Those orders are spread over the last DAYS days.")] = "7",
    visibility_timeout: Annotated[
        str, typer.Option("--visibility-timeout", help="Seconds a pulled event stays invisible unless acknowledged.")
    ] = "300",
) -> None:
    """Serve a marketplace on 127.0.0.1 until Ctrl-C; its clock then follows the wall clock."""
    from channelport.simulator.marketplace import Marketplace  # here: every other command starts faster
    from channelport.simulator.server import serve

    port_number = _integer("--port", port, 0, 65535)
    seed_number = _integer("--seed", seed, 0)
    order_count = _integer("--orders", orders, 0)
    day_count = _positive("--days", days)
    timeout = _positive("--visibility-timeout", visibility_timeout)
    sellers = _sellers(seller or [])
    now = datetime.now(UTC)
    market = Marketplace(
        seed=seed_number,
        start=now - timedelta(days=day_count),
        sellers=sellers,
        visibility_timeout=timeout,
        orders_per_day=order_count / day_count,
        answer_delay=(5.0, 60.0),  # a person watching the demo should see answers within a minute
    )
    typer.echo(f"Generating {order_count} orders per seller over the last {days} days ...", err=True)
    market.generate(orders=order_count, days=day_count)
    market.follow(datetime.now(UTC))
    try:
        server = serve(market, port_number, follow_wall_clock=True)
    except OSError as exc:
        _fail(f"cannot listen on 127.0.0.1:{port_number} ({exc.strerror or exc}); choose another --port", code=1)
    with server:
        typer.echo(f"Marketplace listening on {server.url}")
        for seller_id, token in sellers.items():
            typer.echo(f"seller {seller_id} token {token}")
        typer.echo(f"truth: {server.url}/_sim/truth?sellerId={next(iter(sellers))}  (Ctrl-C stops)")
        sys.stdout.flush()
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)


@marketplace_app.command("truth")
def truth_command(
    url: Annotated[str, typer.Option("--url", help="Base URL of a running marketplace.")] = "http://127.0.0.1:8765",
    seller: Annotated[Optional[str], typer.Option("--seller", help="Seller id (default: the first one).")] = None,
    account: Annotated[str, typer.Option("--account", help="Account name written into each order.")] = "kaufland-main",
) -> None:
    """Print the true state of every order of a seller, one JSON object per line."""
    if not url.startswith(("http://", "https://")):
        _fail(f"--url must start with http:// or https://, got {url!r}")
    params = {"account": account}
    if seller:
        params["sellerId"] = seller
    try:
        response = httpx.get(f"{url.rstrip('/')}/_sim/truth", params=params, timeout=120)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the marketplace at {url}: {exc}", code=1)
    if response.status_code != 200:
        try:
            message = response.json()["errorList"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            message = f"HTTP {response.status_code}"
        _fail(f"the marketplace refused: {message}", code=2 if response.status_code == 400 else 1)
    sys.stdout.write(response.text)
