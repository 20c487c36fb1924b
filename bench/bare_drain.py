"""The channel with a client that does nothing: pull, decode and acknowledge, in a loop.

No Channelport code at all, only httpx (the HTTP client Channelport uses) and the
protocol: `PUT /v2/seller/event-imports` with `createdAfter` for every type, then
`GET /v2/seller/event?limit=1000` and `DELETE /v2/seller/event` with 100 ids at a time
until a page comes back empty. No mapping, no digest, no database, no page ahead.

This is how fast the simulator hands a feed to any Python consumer on this machine,
start-up included. The repeated request (every event a duplicate) cannot be faster
than this by much: it has the same requests to make, plus a log row per event.
Prints one JSON line: {"events", "pages", "seconds"}.
"""

from __future__ import annotations

import time

BEGAN = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before the imports: they are part of a process's cost
import json  # noqa: E402
import sys  # noqa: E402

import httpx  # noqa: E402

TYPES = ("Channel:Order.New", "Channel:Order.StatusUpdate", "Channel:Order.AddressUpdate",
         "Channel:Order.CancellationAccepted", "Channel:Order.CancellationDenied")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--created-after", required=True, help="RFC 3339 instant: every event since is queued again")
    args = parser.parse_args()
    events = pages = 0
    with httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {args.token}"}, timeout=60) as client:
        body = {"eventImports": [{"type": kind, "createdAfter": args.created_after} for kind in TYPES]}
        client.put("/v2/seller/event-imports", json=body).raise_for_status()
        while True:
            answer = client.get("/v2/seller/event", params={"limit": 1000})
            answer.raise_for_status()
            ids = [entry["id"] for entry in answer.json()["eventList"]]
            if not ids:
                break
            for start in range(0, len(ids), 100):
                client.request("DELETE", "/v2/seller/event", json={"eventIdList": ids[start:start + 100]}).raise_for_status()
            events += len(ids)
            pages += 1
    print(json.dumps({"events": events, "pages": pages, "seconds": round(time.perf_counter() - BEGAN, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
