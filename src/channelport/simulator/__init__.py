"""The reference marketplace: a simulated channel that speaks the Channel Event API.

It is the other side of every end-to-end test: it trades (orders arrive, are accepted,
shipped, returned, cancelled, change address) on a simulated clock, serves the protocol
over HTTP on 127.0.0.1, misbehaves on request (faults), and knows the true state of
every order, computed by its own rules (never through `channelport.domain`), so that
what Channelport imported can be compared with what really happened.

    from channelport.simulator import Marketplace, serve

    mp = Marketplace(seed=1, start=datetime(2026, 11, 20, tzinfo=UTC), sellers={"S-1001": "token-1"},
                     visibility_timeout=300.0, orders_per_day=50)
    mp.generate(orders=500, days=7)   # exactly 500 orders per seller in (now, now + 7 days]; clock ends there
    mp.advance(timedelta(hours=5))    # trade on: new orders, status/address changes, answers
    with serve(mp, port=0) as server:  # server.url, server.refuse_connections(), server.accept_connections()
        ...                            # a client syncs against server.url
    mp.truth("S-1001", account="kaufland-main")  # export format, sorted by orderId
    mp.faults.set(outage=True); mp.faults.reset()
    mp.lose_events(fraction=1.0, since=..., until=...); mp.expire_inflight()
    mp.queue_size("S-1001"), mp.event_count("S-1001"), mp.order_count("S-1001")
    mp.event_log("S-1001"), mp.order_plans("S-1001"), mp.cancellation_requests("S-1001"), mp.stats()

Control API (no token, 127.0.0.1 only): GET/POST /_sim/faults (JSON; {"reset": true}
first resets), POST /_sim/advance {"seconds": n} or {"to": instant}, POST
/_sim/lose-events {"sellerId"?, "fraction"?, "since"?, "until"?}, POST
/_sim/expire-inflight {"sellerId"?}, POST /_sim/inject {"sellerId"?, "kind":
"unknown"|"malformed"}, GET /_sim/truth?sellerId=S&account=NAME (JSON lines),
GET /_sim/stats.

Modules: `wire` (type names, instants), `catalog` and `generator` (order data),
`model` (orders, stored events, truth), `lifecycle` and `agenda` (trading), `queue` and
`seller` (delivery), `validate` (request shapes), `faults`, `marketplace` (the facade),
`server` (HTTP), `cli` (`channelport marketplace`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from channelport.simulator.wire import (
    ADDRESS,
    CANCEL_ACCEPTED,
    CANCEL_DENIED,
    KNOWN_TYPES,
    NEW,
    STATUS,
    ProtocolError,
)

if TYPE_CHECKING:
    from channelport.simulator.faults import FAULT_NAMES, Faults
    from channelport.simulator.marketplace import Marketplace
    from channelport.simulator.server import SimServer, build_app, serve

# Imported on first use: every `channelport` command registers `channelport marketplace`,
# and the marketplace and its web server (uvicorn, Starlette) took 50 ms of each start.
_LAZY = {"FAULT_NAMES": "faults", "Faults": "faults", "Marketplace": "marketplace",
         "SimServer": "server", "build_app": "server", "serve": "server"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ADDRESS",
    "CANCEL_ACCEPTED",
    "CANCEL_DENIED",
    "FAULT_NAMES",
    "KNOWN_TYPES",
    "NEW",
    "STATUS",
    "Faults",
    "Marketplace",
    "ProtocolError",
    "SimServer",
    "build_app",
    "serve",
]
