"""A channel far away: syncs with every answer held back, acknowledgements one at a time or several at once.

On loopback a request costs next to nothing, so `run.py` measures Channelport's own
work. A real channel is tens of milliseconds away, and a page of 1,000 events takes
eleven requests: one pull and ten acknowledgements of at most 100 ids. This runs the
first backfill and the same request again against a simulator that holds every answer
`--delay-ms` back, once with the acknowledgements sent one after another
(`ack_concurrency=1`, as before session 10) and once with the account's default, side by
side in one run, each with a fresh simulator and database.

    python bench/latency.py --orders 10000 --delay-ms 0,20,50
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import harness
from harness import Database, Feed, Installation, Simulator, log
from run import commit, machine

DEFAULT_ACKS = 5  # EventApiSettings.ack_concurrency


def measure(orders: int, delay_ms: float, acks: int | None, kind: str) -> dict[str, Any]:
    """First backfill and request again of one feed, answers held `delay_ms`, `acks` requests at once.

    `acks` None sets nothing: the account's default, or code from before the setting.
    """
    feed = Feed.for_orders(orders)
    work = harness.fresh_workdir()
    sim = Simulator(feed, work / "sim.log", delay_ms=delay_ms)
    db = Database(kind, work, "latency")
    try:
        events = sim.ready()["events"]
        db.create()
        settings = [] if acks is None else [f"ack_concurrency={acks}"]
        install = Installation(db, work / "home", work / "channelport.log").set_up(sim.url, *settings)
        rates = {}
        for name in ("first", "repeat"):
            install.request_from(feed.from_date)
            measured, report = install.sync()
            if report["events"] != events:
                raise RuntimeError(f"{name}: {report['events']} events of {events}")
            rates[name] = round(events / measured.seconds, 1)
        return {"delay_ms": delay_ms, "ack_concurrency": acks, "events": events,
                "first_events_per_s": rates["first"], "repeat_events_per_s": rates["repeat"]}
    finally:
        sim.stop()
        db.drop()
        harness.remove(work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--delay-ms", default="0,20,50", help="comma-separated answer delays (ms)")
    parser.add_argument("--acks", default=f"1,{DEFAULT_ACKS}",
                        help="comma-separated ack_concurrency values; 'default' sets none (for older code: "
                             "PYTHONPATH=<its src> python bench/latency.py --acks default)")
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--output", type=Path, default=harness.RESULTS / "latency.json")
    args = parser.parse_args(argv)
    try:
        delays = [float(value) for value in args.delay_ms.split(",")]
        acks = [None if value == "default" else int(value) for value in args.acks.split(",")]
    except ValueError as exc:
        parser.error(f"--delay-ms and --acks take comma-separated numbers: {exc}")

    harness.compile_channelport()
    rows = []
    for delay in delays:
        for ack in acks:
            log(f"{args.database} N={args.orders:,}, answers held {delay:g} ms, "
                f"{ack or 'the default number of'} acknowledgement(s) at once ...")
            row = measure(args.orders, delay, ack, args.database)
            log(f"  first {row['first_events_per_s']:,.0f} events/s, repeat {row['repeat_events_per_s']:,.0f} events/s")
            rows.append(row)

    print(f"\n{'delay ms':>8} {'acks at once':>12} {'first ev/s':>11} {'repeat ev/s':>12} {'first x':>8} {'repeat x':>9}")
    for row in rows:
        base = next(r for r in rows if r["delay_ms"] == row["delay_ms"] and r["ack_concurrency"] == acks[0])
        print(f"{row['delay_ms']:>8g} {row['ack_concurrency'] or 'default':>12} {row['first_events_per_s']:>11,.0f} "
              f"{row['repeat_events_per_s']:>12,.0f} {row['first_events_per_s'] / base['first_events_per_s']:>7.2f}x "
              f"{row['repeat_events_per_s'] / base['repeat_events_per_s']:>8.2f}x")
    print(f"(x: against {acks[0] or 'the default number of'} acknowledgement(s) at once at the same delay)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"machine": machine(), "commit": commit(), "orders": args.orders,
                                       "database": args.database, "rows": rows}, indent=2) + "\n")
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
