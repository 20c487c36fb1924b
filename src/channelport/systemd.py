"""The systemd notify protocol (sd_notify), with the standard library only.

systemd passes a unix datagram socket in `NOTIFY_SOCKET` (a path, or `@name` for the
abstract namespace) to a `Type=notify` service; the service sends newline-separated
`KEY=VALUE` lines to it. The worker sends `READY=1` once it is registered, `WATCHDOG=1`
with every heartbeat (so `WatchdogSec=` restarts a worker whose loop hangs or that
cannot reach its database), `STOPPING=1` when it shuts down, and `RELOADING=1` then
`READY=1` around a restart in place (`channelport worker restart`, which re-executes the
same process). Outside systemd every call is a no-op that returns False.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

_warned = False


def notify(*lines: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `lines` (e.g. "READY=1", "STATUS=...") to systemd; False when not under systemd."""
    global _warned
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or not lines:
        return False
    if address.startswith("@"):
        target = "\0" + address[1:]
    elif address.startswith("/"):
        target = address
    else:  # vsock: and other transports are not worth a dependency here
        return False
    payload = "\n".join(line.replace("\n", " ") for line in lines).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(payload)
    except OSError as exc:
        if not _warned:  # say it once; a heartbeat every few seconds must not flood the log
            log.warning("cannot notify systemd at %s: %s", address, exc)
            _warned = True
        return False
    return True


def ready(status: str | None = None) -> bool:
    return notify("READY=1", *_status(status))


def watchdog(status: str | None = None) -> bool:
    return notify("WATCHDOG=1", *_status(status))


def stopping(*, restarting: bool = False) -> bool:
    """STOPPING=1, or RELOADING=1 when the process is about to re-execute itself."""
    if restarting:
        return notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}",
                      "STATUS=restarting as requested")
    return notify("STOPPING=1", "STATUS=finishing current batches")


def watchdog_seconds(environ: Mapping[str, str] | None = None) -> float | None:
    """The interval systemd expects WATCHDOG=1 within, when it watches this process."""
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000
    except ValueError:
        return None


def _status(status: str | None) -> tuple[str, ...]:
    return (f"STATUS={status}",) if status else ()
