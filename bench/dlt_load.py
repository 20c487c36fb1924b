"""The do-it-yourself alternative: a dlt pipeline loading the same event feed.

What a merchant's data engineer would write instead of Channelport: subscribe with
`createdAfter`, page through `GET /v2/seller/event` (1000 events a page), let dlt
normalise the JSON (nested lists become child tables) and load it with `merge` on the
event id into the same kind of database (dlt's `sqlalchemy` destination: SQLite or
PostgreSQL), with `dlt.sources.incremental` on `createdAt` as the cursor. Events are
acknowledged only after the load that holds them has committed, the same promise
Channelport keeps: one `pipeline.run` drains the queue (the simulator's visibility
timeout is an hour, so nothing is re-delivered meanwhile), then every id is
acknowledged. `--round-events N` instead runs one `pipeline.run` per N events and
acknowledges after each; dlt's `merge` into a growing table then gets slower with every
round on SQLite (no index on the merge key by default), so the benchmark uses one run.

It does no validation and applies nothing: the result is a table of raw events (plus
child tables), not orders. Prints one JSON line: {"events", "rounds", "seconds", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# dlt must not phone home (no network here but loopback) and must keep its files in
# the benchmark's temporary directory; both are read when dlt is imported.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

EVENT_TYPES = (
    "Channel:Order.New",
    "Channel:Order.StatusUpdate",
    "Channel:Order.AddressUpdate",
    "Channel:Order.CancellationAccepted",
    "Channel:Order.CancellationDenied",
)
PAGE = 1000
ACK_CHUNK = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="marketplace base URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--created-after", required=True, help="RFC 3339 instant, the replay's start")
    parser.add_argument("--destination", required=True, help="SQLAlchemy URL of the target database")
    parser.add_argument("--dataset", required=True, help="dlt dataset (PostgreSQL schema / SQLite attached db)")
    parser.add_argument("--workdir", required=True, help="dlt's pipelines directory")
    parser.add_argument("--round-events", type=int, default=0, help="events per pipeline.run; 0: all in one")
    args = parser.parse_args()
    os.environ["DLT_DATA_DIR"] = args.workdir
    if args.destination.startswith("sqlite"):
        # dlt loads with 20 threads by default; SQLite has one writer, and at 100,000 orders the
        # load failed half done with an sqlite3 OperationalError.
        os.environ.setdefault("LOAD__WORKERS", "1")

    started = time.perf_counter()
    import warnings

    import dlt
    import httpx
    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)  # dlt's merge SQL trips SQLAlchemy 2.1's coercion warnings

    imported = time.perf_counter()
    client = httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {args.token}"}, timeout=120)
    answer = client.put(
        "/v2/seller/event-imports",
        json={"eventImports": [{"type": t, "createdAfter": args.created_after} for t in EVENT_TYPES]},
    )
    answer.raise_for_status()

    pending: list[str] = []  # ids pulled in this round, acknowledged after its load

    @dlt.resource(name="events", primary_key="id", write_disposition={"disposition": "merge", "strategy": "delete-insert"})
    def events(max_pages: int, created_at=dlt.sources.incremental("createdAt", initial_value=args.created_after)):  # noqa: B008
        for _ in range(max_pages):
            response = client.get("/v2/seller/event", params={"limit": PAGE})
            response.raise_for_status()
            page = response.json()["eventList"]
            if not page:
                return
            pending.extend(item["id"] for item in page)
            yield page

    pipeline = dlt.pipeline(
        pipeline_name="bench_events",
        destination=dlt.destinations.sqlalchemy(credentials=args.destination),
        dataset_name=args.dataset,
        pipelines_dir=args.workdir,
        progress=None,
    )
    max_pages = max(1, args.round_events // PAGE) if args.round_events > 0 else sys.maxsize
    total = rounds = 0
    while True:
        pending.clear()
        pipeline.run(events(max_pages))
        rounds += 1
        for start in range(0, len(pending), ACK_CHUNK):
            client.request("DELETE", "/v2/seller/event", json={"eventIdList": pending[start : start + ACK_CHUNK]}).raise_for_status()
        total += len(pending)
        if len(pending) < max_pages * PAGE:
            break
    finished = time.perf_counter()
    with pipeline.sql_client() as sql:
        stored = sql.execute_sql(f"SELECT COUNT(*) FROM {sql.make_qualified_table_name('events')}")[0][0]
    print(json.dumps({
        "events": total,
        "stored": int(stored),
        "rounds": rounds,
        "seconds": round(finished - started, 3),
        "import_seconds": round(imported - started, 3),
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
