"""A/B: the first backfill and the same request again, two code trees taking turns.

On a noisy machine two full runs minutes apart differ more than most changes do. Here
each round syncs every tree once, one after the other, each with a fresh simulator and
database, so that both see the same minutes of the machine; only a difference that holds
in most rounds counts. A tree is a `src` directory put first on `PYTHONPATH` (a `git
worktree` of the commit to compare against, for example), so the `channelport` commands
import that tree's code:

    git worktree add /tmp/base <commit>
    python bench/ab.py --orders 10000 --rounds 4 /tmp/base/src src
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from harness import Database, Feed, Installation, Simulator, fresh_workdir, log, postgres_available


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", help="src directories to compare, in the order each round runs them")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if args.database == "postgresql" and (why := postgres_available()) is not None:
        print(f"ab.py: PostgreSQL is not available: {why}", file=sys.stderr)
        return 2
    missing = [tree for tree in args.trees if not (Path(tree) / "channelport").is_dir()]
    if missing:
        print(f"ab.py: not a src directory with a channelport package: {', '.join(missing)}", file=sys.stderr)
        return 2

    feed = Feed.for_orders(args.orders)
    rates: dict[str, list[tuple[float, float, float]]] = {tree: [] for tree in args.trees}
    for round_number in range(1, args.rounds + 1):
        for tree in args.trees:
            first, repeat, peak = _first_and_repeat(feed, args.database, tree)
            rates[tree].append((first, repeat, peak))
            log(f"round {round_number} {tree}: first {first:,.0f} events/s ({peak:,.0f} MB peak), "
                f"repeat {repeat:,.0f} events/s")
    for tree, runs in rates.items():
        firsts, repeats, peaks = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
        print(f"{tree}: first {_span(firsts)}, repeat {_span(repeats)}, repeat / first {sum(repeats) / sum(firsts):.2f}x "
              f"(sums of the rounds), first's peak RSS {_span(peaks)} MB")
    return 0


def _first_and_repeat(feed: Feed, database: str, tree: str) -> tuple[float, float, float]:
    """events/s of the first backfill and of the same request again, and the first's peak RSS (MB)."""
    work = fresh_workdir()
    sim = Simulator(feed, work / "sim.log")  # the channel is the same for every tree: this checkout's
    db = Database(database, work, "ab")
    env_before = os.environ.get("PYTHONPATH")
    try:
        sim.ready()
        db.create()
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(tree).resolve()), env_before]))
        install = Installation(db, work / "home", work / "channelport.log").set_up(sim.url)
        runs = []
        for _ in range(2):
            install.request_from(feed.from_date)
            measured, report = install.sync()
            runs.append((report["events"] / measured.seconds, measured.peak_rss_mb))
        return runs[0][0], runs[1][0], runs[0][1]
    finally:
        sim.stop()
        db.drop()
        if env_before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_before
        shutil.rmtree(work, ignore_errors=True)


def _span(values: list[float]) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f}"


if __name__ == "__main__":
    sys.exit(main())
