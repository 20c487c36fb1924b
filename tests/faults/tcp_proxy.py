"""A TCP proxy in front of the database server that a test can cut and restore.

Cutting it is a real network fault as a client sees it when the database host goes
away: every open connection is reset (mid-query, mid-transaction, mid-commit) and new
connections are refused until `restore()` listens again on the same port. The shared
PostgreSQL behind it never notices anything but dropped client connections, so no one
else using it is disturbed.
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`, one pair of pump threads per connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.cuts = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"proxy:{self.port}", daemon=True).start()
        return self

    def cut(self) -> None:
        """The database goes away: stop listening, reset every open connection."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, set()
            self.cuts += 1
        if listener is not None:
            listener.close()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        """The database is back, on the same port."""
        if self._listener is None:
            self.start()

    def close(self) -> None:
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _reset(client)
                    _reset(upstream)
                    return
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        _reset(sink)  # the other side was reset (or cut): pass the reset on
        return
    try:  # an orderly end: pass the orderly close on
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a vanished host's peer eventually sees it, not a polite FIN.

    `shutdown` first: a bare `close` does not wake the pump thread blocked in `recv` on
    the same socket, and the kernel keeps the connection open until that `recv` returns.
    """
    for step in (
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
        lambda: sock.shutdown(socket.SHUT_RDWR),
        sock.close,
    ):
        try:
            step()
        except OSError:
            pass
