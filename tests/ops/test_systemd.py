"""sd_notify against a real unix datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator

import pytest

from channelport import systemd
from channelport.services.runtime import open_runtime, utc_now
from channelport.services.worker import Worker, WorkerOptions, request_restart


class NotifySocket:
    """What systemd does for a Type=notify service: a datagram socket, its address in NOTIFY_SOCKET."""

    def __init__(self, address: str, bind_to: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def lines(self) -> list[str]:
        return [line for message in list(self.messages) for line in message.split("\n")]

    def wait_for(self, line: str, timeout: float = 30.0) -> bool:
        done = threading.Event()

        def check() -> None:
            while not done.is_set() and line not in self.lines():
                done.wait(0.05)

        waiter = threading.Thread(target=check)
        waiter.start()
        waiter.join(timeout)
        done.set()
        return line in self.lines()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    directory = tempfile.mkdtemp(prefix="cp-", dir="/tmp")  # short: a socket path has at most 107 bytes
    path = os.path.join(directory, "notify")
    listener = NotifySocket(path, path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield listener
    listener.close()
    shutil.rmtree(directory, ignore_errors=True)


def test_notify_sends_one_datagram_of_lines(notify_socket):
    assert systemd.ready("waiting for due accounts")
    assert systemd.watchdog()
    assert notify_socket.wait_for("WATCHDOG=1")
    assert notify_socket.messages == ["READY=1\nSTATUS=waiting for due accounts", "WATCHDOG=1"]


def test_abstract_namespace_sockets(monkeypatch):
    name = f"channelport-test-{uuid.uuid4().hex}"
    listener = NotifySocket("@" + name, "\0" + name)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    try:
        assert systemd.stopping()
        assert listener.wait_for("STOPPING=1")
    finally:
        listener.close()


def test_outside_systemd_nothing_is_sent(monkeypatch, caplog):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify")
    assert systemd.notify("READY=1") is False  # a broken socket never takes the worker down
    assert systemd.notify("vsock:2:1234", environ={"NOTIFY_SOCKET": "vsock:2:1234"}) is False


def test_watchdog_interval_is_read_for_this_process_only():
    assert systemd.watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert systemd.watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert systemd.watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_seconds({}) is None


def test_the_worker_reports_ready_watchdog_and_reloading_for_a_restart(rt, notify_socket):
    worker_rt = open_runtime(clock=utc_now)
    worker = Worker(worker_rt, WorkerOptions(interval=3600, concurrency=1, poll=0.1))
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(worker.run()))
    thread.start()
    try:
        assert notify_socket.wait_for("READY=1")
        assert notify_socket.wait_for("WATCHDOG=1")
        assert request_restart(worker_rt) == 1
        thread.join(timeout=60)
    finally:
        worker.request_stop()
        thread.join(timeout=60)
        worker_rt.close()
    assert result == [True]
    assert notify_socket.wait_for("RELOADING=1")  # sent just before run() returned; the listener may lag
    lines = notify_socket.lines()
    assert lines.index("READY=1") < lines.index("WATCHDOG=1") < lines.index("RELOADING=1")
    assert "STOPPING=1" not in lines, "a restart in place is a reload, not a stop"
    assert any(line.startswith("MONOTONIC_USEC=") for line in lines)
    assert "STATUS=idle" in lines
