"""Run a Starlette app on 127.0.0.1 in a thread, for tests over real HTTP."""

from __future__ import annotations

import socket
import sys
import threading
import time
from typing import Any

import uvicorn


class LoopbackServer:
    """`with LoopbackServer(app) as server: server.url`; `stop`/`start` simulate an outage
    (connections refused on the same port)."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self.app = app
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited: no 40 ms delayed-ACK stalls
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", loop="asyncio", http="h11",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"fake:{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError(f"the test server did not start on {self.url}")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        if sock is not None:
            sock.close()

    def __enter__(self) -> LoopbackServer:
        # Client and server share one interpreter: a shorter GIL switch interval halves
        # the time each request waits for the other thread (5 ms by default).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        sys.setswitchinterval(self._switch)
