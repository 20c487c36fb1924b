"""`channelport sync`, `runs`, `orders`, `events`: running syncs and reading their results."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from channelport.cli.common import console, local_text, parse_date, runtime
from channelport.domain.instants import parse_instant, start_of_local_day, utc_to_local
from channelport.errors import UsageError
from channelport.services import manual_sync
from channelport.services import orders as orders_service
from channelport.services import runs as runs_service
from channelport.services.sync import SyncProgress, SyncReport

orders_app = typer.Typer(help="Imported orders: list, show, export.", no_args_is_help=True)

OUTCOMES = ("applied", "duplicate", "stale", "parked", "rejected", "ignored", "unknown")


def sync(
    names: Annotated[Optional[list[str]], typer.Argument(help="Accounts to sync (default with --all: every one).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Sync every active account (manual sync).")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Accounts synced at once.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Manual sync: import now from every active account (or the named ones). Locked ones are skipped."""
    if bool(names) == all_:
        raise UsageError("name the accounts to sync, or pass --all (not both)")
    with runtime() as rt:
        if as_json:
            reports = manual_sync.sync_accounts(rt, names=names, concurrency=concurrency)
        else:
            reports = _sync_with_progress(rt, names, concurrency)
    if as_json:
        typer.echo(json.dumps([_report_json(r) for r in reports], indent=2))
    else:
        _print_summary(reports)
    if any(r.failed for r in reports):
        sys.exit(1)


def _sync_with_progress(rt, names, concurrency) -> list[SyncReport]:  # type: ignore[no-untyped-def]
    accounts = manual_sync.chosen_accounts(rt, names)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=None),
        TextColumn("{task.fields[events]} events"), TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        tasks = {}
        for account in accounts:
            reason = manual_sync.skip_reason(account)
            label = f"{account.name}: skipped ({reason})" if reason else f"{account.name}: waiting"
            tasks[account.name] = progress.add_task(label, total=None if not reason else 1, events=0,
                                                    completed=1 if reason else 0)

        def on_progress(p: SyncProgress) -> None:
            done = p.phase in ("succeeded", "failed")
            progress.update(tasks[p.account], description=f"{p.account}: {p.phase}", events=p.events,
                            total=1 if done else None, completed=1 if done else 0)

        return manual_sync.sync_accounts(rt, names=names, concurrency=concurrency, on_progress=on_progress)


def _print_summary(reports: list[SyncReport]) -> None:
    table = Table("Account", "Result", "Events", "Applied", "Dupl.", "Stale", "Parked", "Rejected", "Unknown")
    for r in reports:
        table.add_row(
            r.account,
            r.status,
            str(r.events),
            *(str(r.total(o)) for o in ("applied", "duplicate", "stale", "parked", "rejected", "unknown")),
        )
    console.print(table)
    for r in reports:
        if r.error:
            console.print(f"{r.account} {r.status}: {r.error}", soft_wrap=True)
    attention = sum(r.total("rejected") + r.total("unknown") + r.total("parked") for r in reports)
    if attention:
        console.print(f"{attention} events need a look: `channelport events --outcome rejected|parked|unknown`.")


def _report_json(r: SyncReport) -> dict[str, object]:
    return {
        "account": r.account,
        "status": r.status,
        "runId": r.run_id,
        "events": r.events,
        "counts": r.counts,
        "error": r.error,
        "startedAt": r.started_at.isoformat() if r.started_at else None,
        "finishedAt": r.finished_at.isoformat() if r.finished_at else None,
    }


def runs(
    name: Annotated[Optional[str], typer.Argument(help="Only this account.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The sync journal: recent sync runs with their counts and errors."""
    with runtime() as rt:
        rows = runs_service.list_runs(rt, account=name, limit=limit)
    if as_json:
        typer.echo(json.dumps([runs_service.run_json(r) for r in rows], indent=2, default=str))
        return
    table = Table("Run", "Account", "Trigger", "Started", "Duration", "Result", "Events", "Error")
    for r in rows:
        duration = f"{(r.finished_at - r.started_at).total_seconds():.1f}s" if r.finished_at else "running"
        table.add_row(str(r.id), r.account, r.trigger, local_text(utc_to_local(r.started_at, r.timezone)),
                      duration, r.status, str(r.events), (r.error or "")[:80])
    console.print(table)


@orders_app.command("export")
def orders_export(
    format_: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    account: Annotated[Optional[list[str]], typer.Option(help="Only these accounts (repeatable).")] = None,
) -> None:
    """Every order in the stable export format, sorted by account then orderId, on stdout."""
    if format_ not in ("jsonl", "csv"):
        raise UsageError(f"unknown format {format_!r}; choose jsonl or csv")
    with runtime() as rt:
        orders = orders_service.export_orders(rt, accounts=account)
        out = sys.stdout
        if format_ == "jsonl":
            for order in orders:
                out.write(json.dumps(order, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            for chunk in orders_service.csv_lines(orders):
                out.write(chunk)


@orders_app.command("list")
def orders_list(
    account: Annotated[Optional[str], typer.Option()] = None,
    status: Annotated[Optional[str], typer.Option(help="Order status, e.g. SHIPPED.")] = None,
    since: Annotated[Optional[str], typer.Option(metavar="YYYY-MM-DD", help="Purchased on or after (account time).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """Imported orders, newest purchase first."""
    with runtime() as rt:
        since_utc = None
        if since:
            tz = "Europe/Berlin"
            if account:
                from channelport.services.accounts import get_account

                tz = get_account(rt, account).timezone
            since_utc = start_of_local_day(parse_date(since), tz).utc
        rows = orders_service.list_orders(rt, account=account, status=status, since=since_utc, limit=limit)
    table = Table("Account", "Purchased", "Status", "Currency", "Payment")
    table.add_column("Order", no_wrap=True)
    for r in rows:
        table.add_row(r.account, local_text(utc_to_local(r.purchased_at, r.timezone)), r.shown_status,
                      r.currency, r.payment_method or "-", r.order_id)
    console.print(table)
    if not rows:
        console.print("No orders match.")


@orders_app.command("show")
def orders_show(
    account: str,
    order_id: str,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One order with items, addresses, cancellations and the history of every change."""
    with runtime() as rt:
        detail = orders_service.show_order(rt, account=account, order_id=order_id)
    if as_json:
        typer.echo(json.dumps({**detail.export, "history": detail.history}, indent=2, default=str, ensure_ascii=False))
        return
    e = detail.export
    console.print(f"[bold]{e['orderId']}[/] ({detail.account}) {e['orderStatus']}, {e['currency']}, "
                  f"purchased {local_text(utc_to_local(parse_instant(e['purchasedAt']), detail.timezone))}")
    items = Table("Item", "Type", "SKU", "Qty", "Cancelled", "Price", "Total", "VAT %", "Status", "Payment")
    for i in e["orderItem"]:
        items.add_row(i["orderItemId"], i["type"], i["sku"] or "-", i["quantity"], i["cancelledQuantity"],
                      i["grossPrice"], i["total"], i["taxPercent"], i["itemStatus"], i["itemPaymentStatus"])
    console.print(items)
    for label, key in (("Billing", "billingAddress"), ("Shipping", "shippingAddress")):
        a = e[key]
        if a:
            console.print(f"{label}: {a.get('firstName') or ''} {a['lastName']}, {a['street']} {a.get('houseNumber') or ''}, "
                          f"{a.get('postcode') or ''} {a['city']}, {a['country']}")
    for c in e["cancellationRequests"]:
        console.print(f"Cancellation {c['orderCancellationRequestId']}: {c['state']} {c['cancelReason'] or c['reason'] or ''}")
    history = Table("When", "Event", "Part", "Before", "After")
    for h in detail.history:
        history.add_row(local_text(utc_to_local(h["at"], detail.timezone)), h["event"], h["part"],
                        _short(h["before"]), _short(h["after"]))
    console.print(history)


def _short(value: object) -> str:
    text = "-" if value is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return text if len(text) <= 60 else text[:57] + "..."


events_app = typer.Typer(help="Received events by outcome; `events retry ACCOUNT` decides them again.")


@events_app.callback(invoke_without_command=True)
def events(
    ctx: typer.Context,
    outcome: Annotated[Optional[str], typer.Option(help="parked, rejected, stale, unknown, ...")] = None,
    account: Annotated[Optional[str], typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Received events, newest first, with outcome and reason. Raw payloads are kept."""
    if ctx.invoked_subcommand is not None:
        return
    if outcome and outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r}; choose from {', '.join(OUTCOMES)}")
    with runtime() as rt:
        rows = runs_service.list_events(rt, account=account, outcome=outcome, limit=limit)
        counts = runs_service.event_counts(rt, account=account)
    if as_json:
        typer.echo(json.dumps([runs_service.event_json(r) for r in rows], indent=2, default=str, ensure_ascii=False))
        return
    table = Table("Account", "Event id", "Type", "Order", "Created", "Outcome", "Reason")
    for r in rows:
        table.add_row(r.account, r.event_id[:40], r.wire_type, r.order_id or "-",
                      local_text(r.created_at), r.outcome, (r.reason or "")[:80])
    console.print(table)
    console.print("Totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "No events yet.")


@events_app.command("retry")
def events_retry(
    account: Annotated[str, typer.Argument(help="The account whose events to decide again.")],
    outcome: Annotated[Optional[list[str]], typer.Option(help="Only these outcomes (repeatable).")] = None,
) -> None:
    """Decide parked, rejected, unknown and ignored events again (after a fix or a settings change)."""
    from channelport.services.retry import RETRYABLE, retry_events

    chosen = outcome or list(RETRYABLE)
    bad = [o for o in chosen if o not in RETRYABLE]
    if bad:
        raise UsageError(f"cannot retry outcome {', '.join(bad)}; choose from {', '.join(RETRYABLE)}")
    with runtime() as rt:
        result = retry_events(rt, account=account, outcomes=chosen)
    if result.report is None:
        console.print(f"{result.considered} events considered; none can be decided again.")
        return
    _print_summary([result.report])
    if result.not_retryable:
        console.print(f"{result.not_retryable} events cannot be mapped again by this connector kind.")
    if result.report.failed:
        sys.exit(1)
