"""Faults a client must survive, switchable at run time; none is on unless asked for.

One object holds every switch so that a test (or `POST /_sim/faults`) can say what it
wants in one call and `reset()` returns to a well-behaved channel. All chance comes from
one seeded `random.Random`, so a run with the same seed and the same requests misbehaves
the same way twice.

- `outage`: every protocol request answers 503 with an errorList.
- `error_probability`: a request answers 500 with a non-JSON (HTML) body.
- `rate_limit_probability`, `rate_limit_every`: a request answers 429 with `Retry-After`
  (`retry_after` seconds) and the X-RateLimit headers, by chance or every Nth request.
- `delay_seconds`: every protocol answer is delayed that long.
- `truncate_probability`: a pull answers 200 with a truncated, non-JSON body; its events
  are in flight all the same.
- `duplicate_probability`: a delivered event comes again: the same id in the next page,
  or re-queued under a new id, or twice in one page.
- `hold_new_seconds`: `Channel:Order.New` entries are held back once for that long (real
  seconds), so updates overtake their order.
- `stale_probability`: after a status or address update is delivered, the order's older
  one of the same type is queued again under a new id.
- `expired_sellers`: these sellers' tokens answer 401 until removed.
- `unknown_event_probability`: each new event is followed by an event of an unknown type.
- `malformed_event_probability`: each new event is followed by one whose payload breaks
  the protocol.
- `lose_probability`: each new event is stored but not queued (only a replay brings it
  back).
- `disconnect_probability`: a protocol answer is cut off mid-body: the status line and
  the full `Content-Length` go out, then half the body, then the connection closes
  (what a proxy restart or a broken link does). The request itself took effect: a cut
  pull's events are in flight, a cut acknowledgement acknowledged.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

_PROBABILITIES = (
    "error_probability",
    "rate_limit_probability",
    "truncate_probability",
    "duplicate_probability",
    "stale_probability",
    "unknown_event_probability",
    "malformed_event_probability",
    "lose_probability",
    "disconnect_probability",
)


@dataclass
class FaultSettings:
    outage: bool = False
    error_probability: float = 0.0
    rate_limit_probability: float = 0.0
    rate_limit_every: int = 0
    retry_after: float = 1.0
    delay_seconds: float = 0.0
    truncate_probability: float = 0.0
    duplicate_probability: float = 0.0
    hold_new_seconds: float = 0.0
    stale_probability: float = 0.0
    expired_sellers: frozenset[str] = field(default_factory=frozenset)
    unknown_event_probability: float = 0.0
    malformed_event_probability: float = 0.0
    lose_probability: float = 0.0
    disconnect_probability: float = 0.0


FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FaultSettings))


def _coerce(name: str, value: Any) -> Any:
    """Check one setting; ValueError with a message a test or an operator can act on."""
    if name == "outage":
        if not isinstance(value, bool):
            raise ValueError("outage must be true or false")
        return value
    if name == "expired_sellers":
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError("expired_sellers must be a list of seller ids")
        return frozenset(value)
    if name == "rate_limit_every":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("rate_limit_every must be an integer >= 0 (0 = off)")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number")
    number = float(value)
    if name in _PROBABILITIES and not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1")
    if number < 0 or number != number:
        raise ValueError(f"{name} must be >= 0")
    return number


class Faults:
    """The switches of one marketplace, guarded by its lock."""

    def __init__(self, seed: int, lock: threading.RLock) -> None:
        self._lock = lock
        self.rng = random.Random(f"{seed}:faults")
        self.settings = FaultSettings()
        self.requests = 0  # protocol requests seen, for rate_limit_every
        self.fired: Counter[str] = Counter()  # faults that hit a request, by name; never reset

    def set(self, **changes: Any) -> None:
        """Change some switches, leave the others; unknown names or bad values change nothing."""
        checked = {}
        for name, value in changes.items():
            if name not in FAULT_NAMES:
                raise ValueError(f"unknown fault {name!r} (known: {', '.join(FAULT_NAMES)})")
            checked[name] = _coerce(name, value)
        with self._lock:
            for name, value in checked.items():
                setattr(self.settings, name, value)

    def reset(self) -> None:
        """A well-behaved channel again (the random stream goes on, it is not re-seeded)."""
        with self._lock:
            self.settings = FaultSettings()
            self.requests = 0

    def expire_token(self, seller_id: str) -> None:
        with self._lock:
            self.settings.expired_sellers = self.settings.expired_sellers | {seller_id}

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            out = {name: getattr(self.settings, name) for name in FAULT_NAMES}
        out["expired_sellers"] = sorted(out["expired_sellers"])
        return out

    def chance(self, probability: float) -> bool:
        """True with this probability; no draw at all when it is 0, so faults that are off
        leave the random stream of the others alone."""
        return probability > 0.0 and self.rng.random() < probability

    def record(self, name: str) -> None:
        """Count one request that a fault hit (for a test's or a soak run's figures)."""
        with self._lock:
            self.fired[name] += 1

    def __getattr__(self, name: str) -> Any:
        if name in FAULT_NAMES:
            return getattr(self.settings, name)
        raise AttributeError(name)
