"""Compare an export with a channel's truth: what the demo and the tests both report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Comparison:
    channel_orders: int
    imported_orders: int
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    differing: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def mismatches(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.differing)

    @property
    def exact(self) -> bool:
        return not self.duplicates and self.mismatches == 0

    def describe(self, limit: int = 5) -> list[str]:
        lines = [f"duplicate {oid}" for oid in self.duplicates[:limit]]
        lines += [f"missing {oid}" for oid in self.missing[:limit]]
        lines += [f"extra {oid}" for oid in self.extra[:limit]]
        lines += [f"differs {oid}: {diff}" for oid, diff in list(self.differing.items())[:limit]]
        return lines


def compare(ours: Iterable[dict[str, Any]], truth: Iterable[dict[str, Any]]) -> Comparison:
    ours_list = list(ours)
    counts = Counter(o["orderId"] for o in ours_list)
    mine = {o["orderId"]: o for o in ours_list}
    theirs = {o["orderId"]: o for o in truth}
    differing = {}
    for oid in sorted(mine.keys() & theirs.keys()):
        if mine[oid] != theirs[oid]:
            keys = set(mine[oid]) | set(theirs[oid])
            differing[oid] = {k: (mine[oid].get(k), theirs[oid].get(k)) for k in sorted(keys)
                              if mine[oid].get(k) != theirs[oid].get(k)}
    return Comparison(
        channel_orders=len(theirs),
        imported_orders=len(ours_list),
        duplicates=sorted(oid for oid, n in counts.items() if n > 1),
        missing=sorted(theirs.keys() - mine.keys()),
        extra=sorted(mine.keys() - theirs.keys()),
        differing=differing,
    )
