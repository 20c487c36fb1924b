"""The channel alone: pull, map and acknowledge the whole queue, store nothing.

A ceiling for any consumer of the simulator on this machine, Channelport's repeated
request above all: it runs Channelport's own `event-api` connector and `PageFeed` (one
page fetched ahead, acknowledgements after each page) in a process of its own, start-up
included, exactly as `channelport sync` does, minus the database and the domain.
Prints one JSON line: {"events", "pages", "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from datetime import datetime

from channelport.connectors.base import AccountConfig, EventImport
from channelport.connectors.event_api import EventApiConnector, EventApiSettings
from channelport.domain.events import EventType
from channelport.services.page_feed import PageFeed
from channelport.services.sync import PAGE_SIZE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--seller-id", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--created-after", required=True, help="RFC 3339 instant: every event since is queued again")
    args = parser.parse_args()
    since = datetime.fromisoformat(args.created_after)
    began = time.perf_counter()
    connector = EventApiConnector(AccountConfig(url=args.url, seller_id=args.seller_id, token=args.token),
                                  EventApiSettings(retry_deadline=60))
    events = pages = 0
    try:
        connector.subscribe([EventImport(kind, True, since, pending=True) for kind in EventType])
        with PageFeed(connector, PAGE_SIZE) as feed:
            while True:
                batch = feed.next_page(more=True)
                if batch.empty:
                    feed.finish()
                    break
                feed.ack(batch)
                events += len(batch.items)
                pages += 1
    finally:
        connector.close()
    print(json.dumps({"events": events, "pages": pages, "seconds": round(time.perf_counter() - began, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
