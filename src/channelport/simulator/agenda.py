"""The trader's agenda: future actions in (instant, insertion) order, as a calendar queue.

A plain heap of every pending action (hundreds of thousands while 100,000 orders are
under way) made each push and pop cost a deep sift through cold memory. Actions are
instead dropped into one-minute buckets (a dict append); only the bucket being worked
through is a heap, and a small heap of bucket keys says which bucket comes next. The
order of actions is exactly that of one big heap, so results do not depend on it.
"""

from __future__ import annotations

import heapq
from typing import Any

BUCKET_MS = 60_000

Action = tuple[int, int, Any, Any, Any, Any]  # (instant, insertion number, kind, book, target, arg)


class Agenda:
    def __init__(self) -> None:
        self._buckets: dict[int, list[Action]] = {}
        self._keys: list[int] = []  # heap of the keys in _buckets
        self._current: list[Action] = []  # heap: the bucket being worked through
        self._current_key = -(2**62)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def push(self, action: Action) -> None:
        self._count += 1
        key = action[0] // BUCKET_MS
        if key <= self._current_key:
            heapq.heappush(self._current, action)
            return
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [action]
            heapq.heappush(self._keys, key)
        else:
            bucket.append(action)

    def next_instant(self) -> int | None:
        """The instant of the next action (None when there is none)."""
        while not self._current:
            if not self._keys:
                return None
            key = heapq.heappop(self._keys)
            bucket = self._buckets.pop(key)
            heapq.heapify(bucket)
            self._current, self._current_key = bucket, key
        return self._current[0][0]

    def pop(self) -> Action:
        """The next action; call `next_instant` first."""
        self._count -= 1
        return heapq.heappop(self._current)
