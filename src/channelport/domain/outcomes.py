"""What applying one event to one order came to: an outcome, the new state, the changes.

The rules return these as plain data and the caller records them (STYLE.md "Decisions
are pure, effects are data"), so the same decision can be stored, counted, shown in an
order's history and asserted in a test without any of them re-deriving it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from channelport.domain.order import OrderState


class Outcome(StrEnum):
    """The one outcome of an event (docs/order-semantics.md).

    Every outcome but `ignored` is final: an event id recorded with it is a duplicate
    when it comes again. An ignored event is processed again once its type is enabled.
    """

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    PARKED = "parked"
    REJECTED = "rejected"
    IGNORED = "ignored"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self is not Outcome.IGNORED


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of an order's history: what the merchant sees before and after.

    `part` names what changed: "order" (created), "status" (the shown order status),
    "item:<orderItemId>", "billing_address", "shipping_address", "buyer",
    "cancellation:<orderCancellationRequestId>". `before` and `after` are JSON values in
    the export's spelling (camelCase keys, decimals as strings), None for "absent".
    """

    part: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of `rules.apply`.

    `order` is the new state when the outcome is applied, otherwise the order as it was
    passed in (None when there was none). `changes` is empty unless applied (and may be
    empty then too: a newer update that repeats the current values still moves a
    part's version). `reason` says why an event was rejected, stale or a duplicate.
    """

    outcome: Outcome
    order: OrderState | None
    changes: tuple[Change, ...] = ()
    reason: str | None = None


__all__ = ["Change", "Decision", "Outcome"]
