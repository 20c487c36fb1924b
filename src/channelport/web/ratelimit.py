"""Login throttling: a few wrong passwords per name and address, then a pause.

Counted per (user name, client address), so one person mistyping does not lock out a
colleague, and per address alone, so one client cannot try many names. It lives in
the process: `channelport serve` is one process, and a restart giving an attacker a few
more guesses is no real gain against scrypt-hashed passwords.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 30,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, user: str, address: str) -> int | None:
        """Seconds to wait before the next attempt may be made, or None when it may be made now."""
        now = self.clock()
        with self._lock:
            waits = [
                self._wait(key, limit, now)
                for key, limit in ((self._user_key(user, address), self.per_user), (("addr", address), self.per_address))
            ]
        longest = max((w for w in waits if w is not None), default=None)
        return None if longest is None else max(1, int(longest + 0.999))

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            self._failures[self._user_key(user, address)].append(now)
            self._failures[("addr", address)].append(now)

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._user_key(user, address), None)

    def _wait(self, key: tuple[str, ...], limit: int, now: float) -> float | None:
        stamps = self._failures.get(key)
        if not stamps:
            return None
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
            return None
        if len(stamps) < limit:
            return None
        return self.window - (now - stamps[-limit])

    @staticmethod
    def _user_key(user: str, address: str) -> tuple[str, ...]:
        return ("user", user.strip().casefold()[:100], address)
