"""Shared by the database-fault tests: act at an exact pull, compare with the truth."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from channelport.simulator import Marketplace
from tests.faults.support import NAMES
from tests.sync.conftest import mismatches


def on_pull(market: Marketplace, number: int, action: Callable[[], None]) -> Callable[[str, str, str, Any], None]:
    """A tap that runs `action` once, when the channel answers the `number`th pull: the
    client then holds a page it has not committed yet."""
    pulls = 0
    lock = threading.Lock()

    def tap(operation: str, stage: str, _seller: str, _answer: Any) -> None:
        nonlocal pulls
        if operation != "pull" or stage != "answered":
            return
        with lock:
            pulls += 1
            fire = pulls == number
        if fire:
            action()

    market.add_tap(tap)
    return tap


def assert_exact(rt, market) -> None:  # type: ignore[no-untyped-def]
    for name, seller in NAMES.items():
        assert mismatches(rt, market, seller, name) == []


