"""Connector kinds, found through the entry-point group `channelport.connectors`.

A third party ships a kind as its own package by declaring an entry point there; no
registry in this code base has to know it.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from channelport.connectors.base import ConnectorKind
from channelport.errors import NotFound

GROUP = "channelport.connectors"


@cache
def available_kinds() -> dict[str, ConnectorKind]:
    kinds: dict[str, ConnectorKind] = {}
    for entry in entry_points(group=GROUP):
        loaded = entry.load()
        kind = loaded() if isinstance(loaded, type) else loaded
        kinds[entry.name] = kind
    return dict(sorted(kinds.items()))


def get_kind(name: str) -> ConnectorKind:
    kinds = available_kinds()
    if name not in kinds:
        known = ", ".join(kinds) or "none installed"
        raise NotFound(f"unknown connector kind {name!r}; known kinds: {known}")
    return kinds[name]
