"""Channel accounts and the edition, as plain values the services hand around."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

ORDER_PACKAGE = "orders"
KNOWN_PACKAGES: dict[str, str] = {
    "orders": "order package (Auftragspaket): order import from sales channels",
    "fulfillment": "fulfillment package",
    "pos": "point of sale package",
}


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    kind: str
    url: str
    seller_id: str
    timezone: str
    active: bool
    locked: bool
    lock_reason: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    credentials_rejected: str | None = None
    last_sync_at: datetime | None = None
    last_sync_status: str | None = None
    last_success_at: datetime | None = None
    subscription_changed: bool = False

    @property
    def status(self) -> str:
        """One word for lists: what stops this account from syncing, if anything."""
        if not self.active:
            return "inactive"
        if self.locked:
            return "locked"
        if self.credentials_rejected:
            return "credentials rejected"
        return "active"


def validate_account_name(name: str) -> str:
    if not ACCOUNT_NAME.match(name):
        raise ValueError(
            f"invalid account name {name!r}: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def parse_packages(text: str) -> frozenset[str]:
    """`orders,pos` -> the set; `none` -> empty; unknown names are refused with the list."""
    text = text.strip()
    if text.lower() == "none":
        return frozenset()
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(names - KNOWN_PACKAGES.keys())
    if unknown:
        raise ValueError(f"unknown package(s) {', '.join(unknown)}; known: {', '.join(KNOWN_PACKAGES)} (or none)")
    if not names:
        raise ValueError("no package given; name some (e.g. orders) or `none`")
    return frozenset(names)
