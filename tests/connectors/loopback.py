"""Run a Starlette app on 127.0.0.1 in a thread, for tests over real HTTP."""

from __future__ import annotations

import sys

from channelport.simulator.server import BackgroundServer


class LoopbackServer(BackgroundServer):
    """`with LoopbackServer(app) as server: server.url`; `stop`/`start` simulate an outage
    (connections refused on the same port). Started the same way as the simulator."""

    label = "fake"
    graceful_seconds = 1

    def __enter__(self) -> LoopbackServer:
        # Client and server share one interpreter: a shorter GIL switch interval halves
        # the time each request waits for the other thread (5 ms by default).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        sys.setswitchinterval(self._switch)
