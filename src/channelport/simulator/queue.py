"""One seller's delivery queue: visible entries by type, in-flight ones by deadline.

An entry is one delivery of a stored event under one id. Pulling makes it invisible
until a deadline on the real (monotonic) clock, so a test server can use a visibility
timeout of half a second while the simulated clock stands still; when the deadline
passes it is visible again under the same id unless it was acknowledged. A replay or a
fault makes a new entry, hence a new id, for the same event.

Visible entries sit in one heap per event type keyed by the event's `createdAt`, so a
pull merges only the heaps of the types it may deliver and never scans the others.
Removed entries are dropped from the heaps lazily.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

READY, INFLIGHT, GONE = 0, 1, 2


class Entry:
    __slots__ = ("no", "id", "event", "state", "visible_at", "held")

    def __init__(self, no: int, entry_id: str, event: Any) -> None:
        self.no = no
        self.id = entry_id
        self.event = event  # a model.StoredEvent
        self.state = READY
        self.visible_at = 0.0
        self.held = False  # the "hold back new orders" fault held it once already


class DeliveryQueue:
    def __init__(self) -> None:
        self._ready: dict[str, list[tuple[int, int, int, Entry]]] = {}
        self._inflight: list[tuple[float, int, Entry]] = []
        self._by_id: dict[str, Entry] = {}

    def __len__(self) -> int:
        """Entries not yet acknowledged or lost (visible or in flight)."""
        return len(self._by_id)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._by_id.values()))

    def add(self, entry: Entry) -> None:
        self._by_id[entry.id] = entry
        self._push_ready(entry)

    def add_invisible(self, entry: Entry, until: float) -> None:
        """Queue an entry that only becomes visible at `until` (monotonic seconds)."""
        self._by_id[entry.id] = entry
        self.mark_inflight(entry, until)

    def _push_ready(self, entry: Entry) -> None:
        entry.state = READY
        event = entry.event
        heapq.heappush(self._ready.setdefault(event.type, []), (event.created_ms, event.seq, entry.no, entry))

    def release(self, now: float) -> None:
        """Make in-flight entries whose deadline passed visible again."""
        inflight = self._inflight
        while inflight and inflight[0][0] <= now:
            deadline, _, entry = heapq.heappop(inflight)
            if entry.state == INFLIGHT and entry.visible_at == deadline:
                self._push_ready(entry)

    def release_all(self) -> int:
        count = 0
        for _, _, entry in self._inflight:
            if entry.state == INFLIGHT:
                self._push_ready(entry)
                count += 1
        self._inflight.clear()
        return count

    def types(self) -> list[str]:
        return list(self._ready)

    def take(self, types: Iterable[str]) -> Entry | None:
        """Pop the visible entry with the oldest `createdAt` among the given types."""
        best: list[tuple[int, int, int, Entry]] | None = None
        for type_ in types:
            heap = self._ready.get(type_)
            if not heap:
                continue
            while heap and heap[0][3].state != READY:
                heapq.heappop(heap)
            if heap and (best is None or heap[0] < best[0]):
                best = heap
        if best is None:
            return None
        return heapq.heappop(best)[3]

    def mark_inflight(self, entry: Entry, until: float) -> None:
        entry.state = INFLIGHT
        entry.visible_at = until
        heapq.heappush(self._inflight, (until, entry.no, entry))

    def remove(self, entry_id: str) -> Entry | None:
        """Acknowledge or lose an entry; None when the id is unknown or already gone."""
        entry = self._by_id.pop(entry_id, None)
        if entry is not None:
            entry.state = GONE
        return entry

    def inflight_count(self) -> int:
        return sum(1 for entry in self._by_id.values() if entry.state == INFLIGHT)
