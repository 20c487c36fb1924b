"""The benchmark's marketplace: one simulator process serving a fixed feed on loopback.

Unlike `channelport marketplace serve`, which keeps trading on the wall clock, this
server generates exactly N orders of one seller over `--days` days from a fixed
`--start` instant, lets every order live its whole life (`--settle-days` more on the
simulated clock, no new orders), and then serves that feed with the clock standing
still. Two processes started with the same arguments therefore serve byte-identical
feeds (same events, same `createdAt`, same queue ids), which is how Channelport and the
dlt pipeline are given "the same feed".

It prints one JSON line to stdout when it listens:
    {"url": ..., "orders": N, "events": E, "mix": {type: count}, "plans": {lifecycle: count}, "generate_s": ...}
and serves until stdin closes or it gets SIGTERM.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from channelport.simulator import Marketplace, serve
from channelport.simulator.wire import UTC


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seller", default="S-BENCH:bench-token", help="ID:TOKEN")
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--settle-days", type=float, default=28.0)
    parser.add_argument("--start", required=True, help="RFC 3339 instant the trading starts at")
    parser.add_argument("--visibility-timeout", type=float, default=3600.0)
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="hold every protocol answer this long: a channel that far away (bench/latency.py)")
    args = parser.parse_args()

    seller_id, _, token = args.seller.partition(":")
    start = datetime.fromisoformat(args.start.replace("Z", "+00:00")).astimezone(UTC)
    began = time.perf_counter()
    market = Marketplace(
        seed=args.seed,
        start=start,
        sellers={seller_id: token},
        visibility_timeout=args.visibility_timeout,
        orders_per_day=0.0,  # no Poisson stream: exactly --orders orders
    )
    market.generate(orders=args.orders, days=args.days)
    market.advance(timedelta(days=args.settle_days))  # every lifecycle runs to its end
    if args.delay_ms:
        market.faults.set(delay_seconds=args.delay_ms / 1000)
    if market.now > datetime.now(UTC):
        print("--start + --days + --settle-days must not be in the future", file=sys.stderr)
        return 2
    generate_s = time.perf_counter() - began
    # The week's orders, events and queue entries live until the process ends: out of the
    # cyclic collector's sight, so that its passes no longer walk them all again. Those
    # passes made a request again from a date (re-queueing every event: 349,000 queue
    # entries at N = 100,000) take 2.9-3.2 s instead of 0.9-1.1 s, inside every sync's
    # wall time.
    gc.freeze()
    mix = Counter(entry["type"] for entry in market.event_log(seller_id))
    plans = Counter(market.order_plans(seller_id).values())

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with serve(market, args.port) as server:
        print(json.dumps({
            "url": server.url,
            "orders": market.order_count(seller_id),
            "events": market.event_count(seller_id),
            "mix": dict(sorted(mix.items())),
            "plans": dict(sorted(plans.items())),
            "generate_s": round(generate_s, 2),
        }), flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
