"""Profile one Channelport sync (first backfill) with py-spy and name the hot spots.

`make bench PROFILE=1` (or `python bench/run.py --profile`): the same set-up as the
benchmark (simulator in its own process, HTTP on loopback, `channelport sync --json`
as a merchant runs it), N = 10,000 orders on SQLite by default, with the sync process
run under `py-spy record --idle --threads` (a sampling profiler outside the process, so
the sync's worker thread and its waits are seen as they are). Writes to bench/results/:
- profile-<db>-<N>.collapsed: the raw stacks (flamegraph.pl / speedscope read them);
- profile-<db>-<N>.txt: where the wall time of the sync goes, three ways:
  1. by layer: each sample by the code it was in (SQL execution in the driver,
     SQLAlchemy, waiting for the channel's answer, JSON, Channelport's modules, ...);
  2. by Channelport function, self: each sample charged to the innermost frame in
     src/channelport (so SQLAlchemy's work is charged to the store function that asked);
  3. by Channelport function, total (inclusive).
The main thread's samples while it only waits for the sync's worker thread are left
out; start-up (imports) is kept, it is part of what the merchant waits for.

`--gil` samples only the thread that holds the interpreter lock (py-spy `--gil`), so the
profile shows where the process's Python CPU goes, whichever thread spends it; with the
channel's thread and the store's thread sharing one lock, that is what bounds a sync
that keeps one core busy. Written as profile-<db>-<N>[-repeat]-gil.*.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path

from harness import (
    ACCOUNT,
    CHANNELPORT,
    RESULTS,
    Database,
    Feed,
    Installation,
    Simulator,
    compile_channelport,
    fresh_workdir,
    log,
    measure,
    remove,
    tail,
)

WAITING_LEAVES = ("SyncStream.read", "SyncStream.write", "_recv", "recv_into", "sock_recv")


def frame_path(frame: str) -> str:
    """'func (path:line)' -> 'path'."""
    inside = frame.rpartition(" (")[2].rstrip(")")
    return inside.rpartition(":")[0]


def frame_function(frame: str) -> str:
    return frame.rpartition(" (")[0]


def layer(frame: str) -> str:
    path, function = frame_path(frame), frame_function(frame)
    if function.startswith(WAITING_LEAVES) and ("httpcore/" in path or "socket" in path or "ssl" in path):
        return "waiting for the channel's HTTP answer (simulator, other process)"
    if "sqlalchemy/" in path and function.split(".")[-1].startswith(("do_execute", "do_commit")):
        return "SQL execution and commit (sqlite3/psycopg + database)"
    if path.startswith(("sqlite3/", "psycopg/")):
        return "SQL execution and commit (sqlite3/psycopg + database)"
    if path.startswith("sqlalchemy/"):
        return "SQLAlchemy (compile, bind parameters, result rows)"
    if path.startswith(("httpx/", "httpcore/", "h11/", "anyio/")) or path in ("socket.py", "ssl.py", "selectors.py"):
        return "HTTP client (httpx/httpcore/h11, CPU)"
    if path.startswith("json/"):
        return "JSON (stdlib json)"
    if path.startswith(("pydantic", "pydantic_core")):
        return "pydantic"
    if path.startswith("channelport/"):
        return "channelport " + path.split("/")[1].removesuffix(".py") + ("/" if path.count("/") > 1 else "")
    if path.startswith("<frozen importlib") or path.startswith("importlib/"):
        return "start-up: imports"
    if path.startswith(("typer/", "click/", "rich/")):
        return "CLI (typer, click, rich)"
    if path in ("datetime.py", "_strptime.py") or path.startswith("zoneinfo/"):
        return "datetime"
    if path in ("decimal.py", "_pydecimal.py"):
        return "decimal"
    if path in ("dataclasses.py",):
        return "dataclasses"
    return "other Python/stdlib"


def src_name(frame: str) -> str | None:
    path = frame_path(frame)
    if not path.startswith("channelport/"):
        return None
    return f"{path.removesuffix('.py').replace('/', '.')}.{frame_function(frame)}"


def load(path: Path) -> list[tuple[list[str], int]]:
    """The collapsed stacks (root first), without the main thread's waits for the worker."""
    samples = []
    for line in path.read_text("utf-8", "replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        thread, frames = frames[0], frames[1:]
        if "MainThread" in thread and any(f.startswith(("sync_accounts ", "ThreadPoolExecutor.__exit__")) for f in frames):
            continue  # the main thread waits for the pool while the worker syncs
        samples.append((frames, int(count)))
    return samples


def analyse(samples: list[tuple[list[str], int]]) -> dict[str, Counter[str]]:
    by_layer: Counter[str] = Counter()
    by_src_self: Counter[str] = Counter()
    by_src_total: Counter[str] = Counter()
    for frames, count in samples:
        if not frames:
            continue
        by_layer[layer(frames[-1])] += count
        names = [name for name in map(src_name, frames) if name is not None]
        by_src_self[names[-1] if names else "(outside src/channelport: interpreter start-up, CLI)"] += count
        for name in set(names):
            by_src_total[name] += count
    return {"by_layer": by_layer, "by_src_self": by_src_self, "by_src_total": by_src_total}


def render(analysis: dict[str, Counter[str]], total: int, rate: int, title: str, top: int = 25,
           of: str = "the sync's wall time") -> str:
    lines = [title, f"{total:,} samples at {rate} Hz = {total / rate:.1f}s of {of}", ""]

    def section(heading: str, values: Counter[str], limit: int) -> None:
        lines.append(heading)
        for name, count in values.most_common(limit):
            lines.append(f"  {100 * count / total:5.1f} %  {count / rate:7.2f}s  {name}")
        lines.append("")

    section("1. By layer (the sample's innermost frame)", analysis["by_layer"], 30)
    section("2. Self, charged to the innermost src/channelport function", analysis["by_src_self"], top)
    section("3. Total (inclusive) by src/channelport function", analysis["by_src_total"], top)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile one Channelport first backfill with py-spy.")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--rate", type=int, default=50, help="samples per second (py-spy slows the sync a little)")
    parser.add_argument("--repeat", action="store_true",
                        help="profile the same request again (every event a duplicate) instead of the first backfill")
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the interpreter lock: where the Python CPU goes")
    args = parser.parse_args(argv)

    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        log("py-spy is not installed: pip install -e '.[bench]'")
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    compile_channelport()
    kind = ("-repeat" if args.repeat else "") + ("-gil" if args.gil else "")
    stem = RESULTS / f"profile-{args.database}-{args.orders}{kind}"
    raw = stem.with_suffix(".collapsed")
    feed = Feed.for_orders(args.orders)
    work = fresh_workdir()
    sim = Simulator(feed, work / "sim.log")
    db = Database(args.database, work, "profile")
    try:
        log(f"profile: {args.database} N={args.orders:,}: generating the feed ...")
        sim.ready()
        db.create()
        install = Installation(db, work / "home", work / "channelport.log").set_up(sim.url)
        install.request_from(feed.from_date)
        if args.repeat:
            log("profile: first backfill (not profiled) ...")
            first = measure([CHANNELPORT, "sync", ACCOUNT, "--json"], env=install.env,
                            stderr_to=work / "channelport.log")
            if not first.ok:
                raise RuntimeError(f"the first sync exited {first.returncode}{tail(work / 'channelport.log')}")
            install.request_from(feed.from_date)
        log("profile: channelport sync under py-spy ...")
        measured = measure([py_spy, "record", "--format", "raw", "--output", str(raw), "--rate", str(args.rate),
                            "--gil" if args.gil else "--idle", "--threads", "--nonblocking", "--",
                            CHANNELPORT, "sync", ACCOUNT, "--json"],
                           env=install.env, stderr_to=work / "channelport.log")
        if not measured.ok:
            raise RuntimeError(f"the profiled sync exited {measured.returncode}{tail(work / 'channelport.log')}")
        report = measured.json()[0]
    finally:
        sim.stop()
        db.drop()
        remove(work)

    samples = load(raw)
    total = sum(count for _, count in samples)
    what = "the same request again" if args.repeat else "first backfill"
    title = (f"Channelport {what}, {args.database}, N={args.orders:,} orders, {report['events']:,} events, "
             f"{measured.seconds:.1f}s wall under py-spy ({report['events'] / measured.seconds:,.0f} events/s), "
             f"status {report['status']}\n"
             f"CPU (user + system) of the sync and py-spy together: {measured.cpu_seconds:.1f}s = "
             f"{measured.cpu_share:.0%} of one core"
             + ("\nOnly samples of the thread holding the interpreter lock: the process's Python CPU, by where "
                "it went (SQL while the lock is released is not in them)" if args.gil else ""))
    text = render(analyse(samples), total, args.rate, title, of="the samples" if args.gil else "the sync's wall time")
    stem.with_suffix(".txt").write_text(text + "\n")
    print(text)
    log(f"wrote {stem.with_suffix('.txt')} and {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
