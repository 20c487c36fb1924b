"""`make bench`: how fast a merchant gets a busy week back, on this machine, in one run.

For each size (N orders: 10,000 and 100,000; `--quick`: 2,000) and each database
(SQLite; PostgreSQL when it answers), on one feed (one seller, N orders over a week,
each order's whole lifecycle; see simserver.py):

1. Channelport: `channelport import request --from <day>` and `channelport sync --json`
   as a merchant runs them, against the simulator serving the feed over HTTP on
   loopback from its own process; then the same request again (every event a
   duplicate). Wall time of the sync process and its peak RSS.
2. dlt: the do-it-yourself pipeline (dlt_load.py) on a second simulator process with
   the same feed, into the same kind of database.
3. The floor: the feed's rows with one executemany per table in one transaction
   (floor.py): the database's own limit.

Prints a table and writes bench/results/latest.json and bench/results/latest.png.
`--profile` instead profiles one Channelport sync (see hotspots.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import (
    ACCOUNT,
    BENCH,
    DAYS,
    PG_BASE,
    PYTHON,
    RESULTS,
    ROOT,
    SEED,
    SELLER_ID,
    SETTLE_DAYS,
    TOKEN,
    Database,
    Feed,
    Installation,
    Simulator,
    compile_channelport,
    drop_schemas,
    fresh_workdir,
    leftover_schemas,
    log,
    measure,
    postgres_available,
    remove,
    tail,
)

FULL_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000,)
TARGETS = {
    "sqlite_first_events_per_s": 3000,
    "sqlite_first_events_per_s_aim": 5000,
    "repeat_speedup": 4.0,
    "peak_rss_mb": 250,
    "cost_ratio": 1.3,
}
SHORT_TYPES = {
    "Channel:Order.New": "new",
    "Channel:Order.StatusUpdate": "status",
    "Channel:Order.AddressUpdate": "address",
    "Channel:Order.CancellationAccepted": "cancel accepted",
    "Channel:Order.CancellationDenied": "cancel denied",
}


# --- one database, one size -------------------------------------------------------------


def measure_case(kind: str, orders: int, *, verify: bool, parts: set[str]) -> dict[str, Any]:
    feed = Feed.for_orders(orders)
    work = fresh_workdir()
    case: dict[str, Any] = {"orders": orders, "from": feed.from_date.isoformat(),
                            "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    sims: list[Simulator] = []
    if "channelport" in parts:
        sims.append(Simulator(feed, work / "sim-channelport.log"))
    if "dlt" in parts:
        sims.append(Simulator(feed, work / "sim-dlt.log"))
    if not sims:  # the floor alone: one simulator only to learn the feed's mix
        sims.append(Simulator(feed, work / "sim.log"))
    databases: list[Database] = []
    dlt_schemas: list[str] = []
    try:
        log(f"{kind} N={orders:,}: generating the feed in {len(sims)} simulator process(es) ...")
        infos = [sim.ready() for sim in sims]
        info = infos[0]
        if any((i["events"], i["mix"]) != (info["events"], info["mix"]) for i in infos[1:]):
            raise RuntimeError("the two simulators do not serve the same feed")
        case.update(events=info["events"], mix=info["mix"], plans=info["plans"], generate_s=info["generate_s"])
        log(f"  feed: {info['events']:,} events for {info['orders']:,} orders, from {feed.from_date} "
            f"(generated in {info['generate_s']:.1f}s)")

        queue = list(sims)
        if "channelport" in parts:
            sim = queue.pop(0)
            case["channelport"] = _guarded(lambda: _channelport(kind, feed, sim, work, databases, verify=verify))
            sim.stop()
        if "dlt" in parts:
            sim = queue.pop(0)
            case["dlt"] = _guarded(lambda: _dlt(kind, feed, sim, work, dlt_schemas))
            sim.stop()
        for sim in queue:
            sim.stop()
        if "floor" in parts:
            case["floor"] = _guarded(lambda: _floor(kind, feed, work, databases))
    except Exception as exc:  # noqa: BLE001 - record and go on with the next case
        case["error"] = f"{type(exc).__name__}: {exc}"
        log(f"  FAILED: {case['error']}")
    finally:
        case["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        for sim in sims:
            sim.stop()
        for db in databases:
            _quietly(db.drop)
        if dlt_schemas:
            _quietly(lambda: drop_schemas(dlt_schemas))
        remove(work)
    return case


def _guarded(step: Any) -> dict[str, Any]:
    try:
        return step()
    except Exception as exc:  # noqa: BLE001
        log(f"  FAILED: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def _quietly(action: Any) -> None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - cleaning up must not hide the results
        log(f"  (clean-up: {type(exc).__name__}: {exc})")


def _channelport(kind: str, feed: Feed, sim: Simulator, work: Path, databases: list[Database], *,
                 verify: bool) -> dict[str, Any]:
    db = Database(kind, work, "cp").create()
    databases.append(db)
    install = Installation(db, work / "home", work / "channelport.log").set_up(sim.url)
    events = sim.info["events"]

    install.request_from(feed.from_date)
    log("  channelport: first backfill ...")
    first, first_report = install.sync()
    log(f"    {first_report['events']:,} events in {first.seconds:.1f}s = {first_report['events'] / first.seconds:,.0f} "
        f"events/s, peak RSS {first.peak_rss_mb:.0f} MB, CPU {first.cpu_share:.0%} of one core")
    install.request_from(feed.from_date)
    log("  channelport: the same request again ...")
    repeat, repeat_report = install.sync()
    log(f"    {repeat_report['events']:,} events in {repeat.seconds:.1f}s = "
        f"{repeat_report['events'] / repeat.seconds:,.0f} events/s, peak RSS {repeat.peak_rss_mb:.0f} MB, "
        f"CPU {repeat.cpu_share:.0%} of one core")

    log("  the channel alone (pull, map, acknowledge; nothing stored) ...")
    drained = measure([PYTHON, str(BENCH / "channel_drain.py"), "--url", sim.url, "--seller-id", SELLER_ID,
                       "--token", TOKEN, "--created-after", feed.start_text], stderr_to=work / "drain.log")
    if not drained.ok:
        raise RuntimeError(f"channel_drain.py exited {drained.returncode}{tail(work / 'drain.log')}")
    drain = drained.json()
    log(f"    {drain['events']:,} events in {drained.seconds:.1f}s = {drain['events'] / drained.seconds:,.0f} events/s")
    log("  the channel with a client that does nothing (pull, decode, acknowledge; no Channelport) ...")
    bare_run = measure([PYTHON, str(BENCH / "bare_drain.py"), "--url", sim.url, "--token", TOKEN,
                        "--created-after", feed.start_text], stderr_to=work / "bare.log")
    if not bare_run.ok:
        raise RuntimeError(f"bare_drain.py exited {bare_run.returncode}{tail(work / 'bare.log')}")
    bare = bare_run.json()
    log(f"    {bare['events']:,} events in {bare_run.seconds:.1f}s = {bare['events'] / bare_run.seconds:,.0f} events/s")

    result: dict[str, Any] = {
        "first_events_per_s": round(first_report["events"] / first.seconds, 1),
        "repeat_events_per_s": round(repeat_report["events"] / repeat.seconds, 1),
        "peak_rss_mb": round(max(first.peak_rss_mb, repeat.peak_rss_mb), 1),
        "first_orders_per_s": round(feed.orders / first.seconds, 1),
        "first_seconds": round(first.seconds, 3),
        "repeat_seconds": round(repeat.seconds, 3),
        "first_sync_seconds": _report_seconds(first_report),
        "repeat_sync_seconds": _report_seconds(repeat_report),
        "first_cpu_seconds": round(first.cpu_seconds, 2),
        "repeat_cpu_seconds": round(repeat.cpu_seconds, 2),
        "first_peak_rss_mb": round(first.peak_rss_mb, 1),
        "repeat_peak_rss_mb": round(repeat.peak_rss_mb, 1),
        "first_events": first_report["events"],
        "repeat_events": repeat_report["events"],
        "channel_only_events_per_s": round(drain["events"] / drained.seconds, 1),
        "channel_only_seconds": round(drained.seconds, 3),
        "bare_client_events_per_s": round(bare["events"] / bare_run.seconds, 1),
        "bare_client_seconds": round(bare_run.seconds, 3),
        "first_outcomes": _totals(first_report),
        "repeat_outcomes": _totals(repeat_report),
    }
    if first_report["events"] != events:
        result["warning"] = f"the first sync received {first_report['events']} events, the feed has {events}"
    if verify:
        result["verified"] = _verify(install, sim)
        log(f"    export against the channel's truth: {result['verified']}")
    return result


def _report_seconds(report: dict[str, Any]) -> float | None:
    if not report.get("startedAt") or not report.get("finishedAt"):
        return None
    delta = datetime.fromisoformat(report["finishedAt"]) - datetime.fromisoformat(report["startedAt"])
    return round(delta.total_seconds(), 3)


def _totals(report: dict[str, Any]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for per_type in report.get("counts", {}).values():
        total.update(per_type)
    return dict(sorted(total.items()))


def _verify(install: Installation, sim: Simulator) -> dict[str, Any]:
    """The imported orders against the simulator's truth (not timed)."""
    import httpx

    from channelport.services.verify import compare

    began = time.perf_counter()
    ours = [json.loads(line) for line in install.cli("orders", "export", "--format", "jsonl").splitlines() if line]
    answer = httpx.get(f"{sim.url}/_sim/truth", params={"sellerId": SELLER_ID, "account": ACCOUNT}, timeout=600)
    answer.raise_for_status()
    truth = [json.loads(line) for line in answer.text.splitlines() if line]
    comparison = compare(ours, truth)
    return {
        "exact": comparison.exact,
        "channel_orders": comparison.channel_orders,
        "imported_orders": comparison.imported_orders,
        "duplicates": len(comparison.duplicates),
        "mismatches": comparison.mismatches,
        "examples": comparison.describe(3),
        "seconds": round(time.perf_counter() - began, 1),
    }


def _dlt(kind: str, feed: Feed, sim: Simulator, work: Path, schemas: list[str]) -> dict[str, Any]:
    if kind == "sqlite":
        destination, dataset = f"sqlite:///{work / 'dlt.db'}", "bench_dlt"
    else:
        destination, dataset = PG_BASE, f"bench_{os.urandom(4).hex()}_dlt"
        schemas.extend([dataset, f"{dataset}_staging"])
    log("  dlt: loading the same feed ...")
    measured = measure([PYTHON, str(BENCH / "dlt_load.py"), "--url", sim.url, "--token", TOKEN,
                        "--created-after", feed.start_text, "--destination", destination, "--dataset", dataset,
                        "--workdir", str(work / "dlt")], stderr_to=work / "dlt.log", timeout=7200)
    if not measured.ok:
        raise RuntimeError(f"dlt_load.py exited {measured.returncode}{tail(work / 'dlt.log')}")
    out = measured.json()
    log(f"    {out['events']:,} events in {measured.seconds:.1f}s = {out['events'] / measured.seconds:,.0f} events/s, "
        f"peak RSS {measured.peak_rss_mb:.0f} MB ({out['rounds']} rounds)")
    return {
        "events_per_s": round(out["events"] / measured.seconds, 1),
        "peak_rss_mb": round(measured.peak_rss_mb, 1),
        "seconds": round(measured.seconds, 3),
        "events": out["events"],
        "stored": out["stored"],
        "rounds": out["rounds"],
    }


def _floor(kind: str, feed: Feed, work: Path, databases: list[Database]) -> dict[str, Any]:
    db = Database(kind, work, "floor").create()
    databases.append(db)
    Installation(db, work / "floor-home", work / "floor.log").set_up("http://127.0.0.1:9")
    log("  floor: executemany per table, one transaction ...")
    measured = measure([PYTHON, str(BENCH / "floor.py"), "--database-url", db.url, *feed.sim_args()],
                       stderr_to=work / "floor.log", timeout=3600)
    if not measured.ok:
        raise RuntimeError(f"floor.py exited {measured.returncode}{tail(work / 'floor.log')}")
    out = measured.json()
    log(f"    {out['events']:,} events in {out['seconds']:.2f}s = {out['events'] / out['seconds']:,.0f} events/s")
    return {"events_per_s": round(out["events"] / out["seconds"], 1), "seconds": out["seconds"], "rows": out["rows"]}


# --- the report -------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"cpus": os.cpu_count(), "model": model, "python": platform.python_version(), "memory_gb": memory_gb,
            "platform": platform.platform()}


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no", "--", "src") else "")


def _get(results: dict[str, Any], kind: str, size: int, *path: str) -> Any:
    value: Any = results.get(kind, {}).get(str(size))
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def checks(results: dict[str, Any], kinds: list[str], sizes: list[int]) -> list[dict[str, Any]]:
    """The issue's targets, each with what was measured."""
    found: list[dict[str, Any]] = []

    def add(name: str, measured: Any, target: str, ok: bool | None) -> None:
        found.append({"check": name, "measured": measured, "target": target,
                      "result": "n/a" if ok is None else ("pass" if ok else "MISS")})

    for size in sizes:
        rate = _get(results, "sqlite", size, "channelport", "first_events_per_s")
        if rate is not None:
            add(f"sqlite first backfill, N={size:,}", f"{rate:,.0f} events/s",
                f">= {TARGETS['sqlite_first_events_per_s']:,} (aim {TARGETS['sqlite_first_events_per_s_aim']:,})",
                rate >= TARGETS["sqlite_first_events_per_s"])
    for kind in kinds:
        for size in sizes:
            first = _get(results, kind, size, "channelport", "first_events_per_s")
            repeat = _get(results, kind, size, "channelport", "repeat_events_per_s")
            if first and repeat:
                add(f"{kind} repeat vs first, N={size:,}", f"{repeat / first:.1f}x", f">= {TARGETS['repeat_speedup']}x",
                    repeat / first >= TARGETS["repeat_speedup"])
            alone = _get(results, kind, size, "channelport", "channel_only_events_per_s")
            if first and alone:
                add(f"{kind} the channel alone vs first, N={size:,}", f"{alone / first:.1f}x ({alone:,.0f} events/s)",
                    "reported: pull, map and acknowledge alone", None)
            bare = _get(results, kind, size, "channelport", "bare_client_events_per_s")
            if first and bare:
                add(f"{kind} a bare client vs first, N={size:,}", f"{bare / first:.1f}x ({bare:,.0f} events/s)",
                    "reported: pull and acknowledge, no Channelport: the channel's own speed", None)
            dlt_rate = _get(results, kind, size, "dlt", "events_per_s")
            if first and dlt_rate:
                ratio = first / dlt_rate
                add(f"{kind} Channelport vs dlt, N={size:,}", f"{ratio:.2f}x" + (" (faster)" if ratio >= 1 else " (slower)"),
                    "> 1x (faster than dlt)", first > dlt_rate)
            floor_rate = _get(results, kind, size, "floor", "events_per_s")
            if first and floor_rate:
                add(f"{kind} floor / Channelport, N={size:,}", f"{floor_rate / first:.1f}x", "reported", None)
        big, small = max(sizes), min(sizes)
        rss = _get(results, kind, big, "channelport", "peak_rss_mb")
        if rss is not None and big >= 100_000:
            add(f"{kind} peak RSS, N={big:,}", f"{rss:.0f} MB", f"< {TARGETS['peak_rss_mb']} MB", rss < TARGETS["peak_rss_mb"])
        rss_small = _get(results, kind, small, "channelport", "peak_rss_mb")
        if rss is not None and rss_small and big != small:
            add(f"{kind} peak RSS growth, N={small:,} -> {big:,}", f"{rss_small:.0f} -> {rss:.0f} MB",
                "not growing with N (within 15 %)", rss <= rss_small * 1.15)
        first_big = _get(results, kind, big, "channelport", "first_events_per_s")
        first_small = _get(results, kind, small, "channelport", "first_events_per_s")
        if first_big and first_small and big != small:
            ratio = first_small / first_big  # cost per event is 1 / rate
            add(f"{kind} cost per event, N={big:,} vs {small:,}",
                f"{1e6 / first_big:.0f} vs {1e6 / first_small:.0f} us = {ratio:.2f}x", f"<= {TARGETS['cost_ratio']}x",
                ratio <= TARGETS["cost_ratio"])
    return found


def print_report(results: dict[str, Any], kinds: list[str], sizes: list[int]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=192)
    table = Table(title="Channelport backfill benchmark (events/s: higher is better; wall time of each process)")
    for column in ("DB", "orders", "events", "CP first ev/s", "CP orders/s", "CP repeat ev/s", "repeat x",
                   "channel alone ev/s", "bare client ev/s", "CP peak RSS MB", "us/event", "dlt ev/s", "dlt RSS MB", "floor ev/s", "floor/CP", "CP/dlt"):
        table.add_column(column, justify="right" if column != "DB" else "left", min_width=10 if column == "DB" else None)
    for kind in kinds:
        for size in sizes:
            case = results.get(kind, {}).get(str(size))
            if case is None:
                continue
            cp, dl, fl = case.get("channelport", {}), case.get("dlt", {}), case.get("floor", {})
            first, repeat, dlt_rate, floor_rate = (cp.get("first_events_per_s"), cp.get("repeat_events_per_s"),
                                                   dl.get("events_per_s"), fl.get("events_per_s"))
            table.add_row(
                kind, f"{size:,}", f"{case.get('events', 0):,}", _n(first), _n(cp.get("first_orders_per_s")), _n(repeat),
                _x(repeat, first), _n(cp.get("channel_only_events_per_s")), _n(cp.get("bare_client_events_per_s")), _n(cp.get("peak_rss_mb")), _n(1e6 / first if first else None),
                _n(dlt_rate) if dl else "-", _n(dl.get("peak_rss_mb")) if dl else "-", _n(floor_rate),
                _x(floor_rate, first), _x(first, dlt_rate),
            )
    console.print(table)
    for kind in kinds:
        for size in sizes:
            case = results.get(kind, {}).get(str(size))
            if not case:
                continue
            for part in ("channelport", "dlt", "floor"):
                if isinstance(case.get(part), dict) and "error" in case[part]:
                    console.print(f"[red]{kind} N={size:,} {part}: {case[part]['error']}[/]")
            if "error" in case:
                console.print(f"[red]{kind} N={size:,}: {case['error']}[/]")
    mix_case = next((results[k][str(s)] for s in sizes for k in kinds if "mix" in results.get(k, {}).get(str(s), {})), None)
    if mix_case:
        console.print(_mix_line(mix_case))
    verdicts = Table(title="Targets (issue #8)")
    for column in ("check", "measured", "target", "result"):
        verdicts.add_column(column)
    for row in results.get("checks", []):
        verdicts.add_row(row["check"], row["measured"], row["target"], row["result"])
    console.print(verdicts)


def _mix_line(case: dict[str, Any]) -> str:
    orders, mix, plans = case["orders"], case["mix"], case.get("plans", {})
    buyer_cancel = sum(n for plan, n in plans.items() if plan.startswith("buyer_cancel"))
    portal = sum(n for plan, n in plans.items() if plan.startswith("portal"))
    per = ", ".join(f"{SHORT_TYPES.get(t, t)} {n:,}" for t, n in mix.items())
    return (f"Event mix (N={orders:,}): {case['events'] / orders:.2f} events per order ({per}); "
            f"status changes per order {mix.get('Channel:Order.StatusUpdate', 0) / orders:.2f}; "
            f"address changes in {100 * mix.get('Channel:Order.AddressUpdate', 0) / orders:.1f} % of orders; "
            f"cancellations in {100 * (buyer_cancel + portal) / orders:.1f} % of orders "
            f"({buyer_cancel:,} by the buyer, {portal:,} seller requests: "
            f"{mix.get('Channel:Order.CancellationAccepted', 0):,} accepted, "
            f"{mix.get('Channel:Order.CancellationDenied', 0):,} denied).")


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _x(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.1f}x"


def failed_parts(results: dict[str, Any], kinds: list[str], sizes: list[int]) -> list[str]:
    failed = []
    for kind in kinds:
        for size in sizes:
            case = results.get(kind, {}).get(str(size), {})
            if "error" in case:
                failed.append(f"{kind} {size}")
            failed += [f"{kind} {size} {part}" for part in ("channelport", "dlt", "floor")
                       if isinstance(case.get(part), dict) and "error" in case[part]]
    return failed


# --- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Channelport backfill benchmark (issue #8).")
    parser.add_argument("--quick", action="store_true", help="N = 2,000 only (the CI smoke run)")
    parser.add_argument("--sizes", help="comma-separated order counts, instead of the defaults")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--parts", default="channelport,dlt,floor", help="which of channelport, dlt, floor to run")
    parser.add_argument("--update", action="store_true",
                        help="keep the other results in --output and replace only what this run measures")
    parser.add_argument("--verify-max", type=int, default=10_000,
                        help="compare the import with the channel's truth up to this many orders (0: never)")
    parser.add_argument("--profile", action="store_true", help="profile one sync instead (hotspots.py)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: recompute the checks, print the table, draw the chart from --output")
    args = parser.parse_args()

    if args.report_only:
        results = json.loads(args.output.read_text())
        kinds = [kind for kind in ("sqlite", "postgresql") if results.get(kind)]
        sizes = sorted({int(s) for kind in kinds for s in results[kind]})
        results["checks"] = checks(results, kinds, sizes)
        _write(args.output, results)
        print_report(results, kinds, sizes)
        try:
            from chart import draw

            log(f"wrote {draw(results, kinds, sizes, args.output.with_suffix('.png'))}")
        except ImportError:
            pass
        return 0

    if args.profile:
        from hotspots import main as profile_main

        return profile_main([])

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else FULL_SIZES)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if unknown := set(kinds) - {"sqlite", "postgresql"}:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if unknown := parts - {"channelport", "dlt", "floor"}:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if "dlt" in parts:
        try:
            import dlt as _dlt  # noqa: F401
        except ImportError:
            log("dlt is not installed (pip install -e '.[bench]'); the dlt column stays empty")
            parts.discard("dlt")
    notes: list[str] = []
    if "postgresql" in kinds:
        why = postgres_available()
        if why:
            notes.append(f"PostgreSQL skipped: not reachable at {PG_BASE} ({why})")
            log(notes[-1])
            kinds.remove("postgresql")
        elif stale := leftover_schemas():
            log(f"dropping {len(stale)} schema(s) left by an interrupted run: {', '.join(stale)}")
            drop_schemas(stale)

    compile_channelport()
    began = time.perf_counter()
    earlier: dict[str, Any] = {}
    if args.update and args.output.exists():
        earlier = json.loads(args.output.read_text())
    results: dict[str, Any] = {
        "machine": machine(),
        "commit": commit(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "feed": {"seed": SEED, "days": DAYS, "settle_days": SETTLE_DAYS, "seller": SELLER_ID,
                 "page_size": 1000, "transport": "HTTP/1.1 on loopback, simulator in its own process"},
        "targets": TARGETS,
        "notes": notes,
    }
    log(f"sizes {', '.join(f'{s:,}' for s in sizes)} on {', '.join(kinds)}; "
        f"{results['machine']['cpus']} CPUs, {results['machine']['model']}, Python {results['machine']['python']}")
    if earlier:  # --update: keep what was measured before, note which run measured what
        for kind in ("sqlite", "postgresql"):
            if kind in earlier:
                results[kind] = earlier[kind]
        results["updates"] = [*earlier.get("updates", []), {
            "started_at": results["started_at"], "commit": results["commit"], "sizes": sizes, "databases": kinds,
            "parts": sorted(parts)}]
        results["first_run"] = earlier.get("first_run") or {key: earlier.get(key)
                                                             for key in ("started_at", "commit", "duration_s")}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        for kind in kinds:
            case = measure_case(kind, size, verify=size <= args.verify_max, parts=parts)
            slot = results.setdefault(kind, {}).setdefault(str(size), {})
            slot.pop("error", None)
            slot.update(case)
            results["duration_s"] = round(time.perf_counter() - began, 1)
            _write(args.output, results)

    all_sizes = sorted({int(s) for kind in ("sqlite", "postgresql") for s in results.get(kind, {})})
    all_kinds = [kind for kind in ("sqlite", "postgresql") if results.get(kind)]
    kinds, sizes = (all_kinds, all_sizes) if earlier else (kinds, sizes)
    results["checks"] = checks(results, kinds, sizes)
    results["duration_s"] = round(time.perf_counter() - began, 1)
    _write(args.output, results)
    print_report(results, kinds, sizes)
    try:
        from chart import draw

        png = draw(results, kinds, sizes, args.output.with_suffix(".png"))
        log(f"wrote {args.output} and {png} in {results['duration_s']:.0f}s")
    except ImportError:
        log(f"wrote {args.output} in {results['duration_s']:.0f}s (no chart: matplotlib is not installed)")
    failed = failed_parts(results, kinds, sizes)
    if failed:
        log(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


def _write(path: Path, results: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
