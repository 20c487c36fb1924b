"""Connector kinds, found through the entry-point group `channelport.connectors`.

A third party ships a kind as its own package by declaring an entry point there; no
registry in this code base has to know it. A kind that fails to load (a broken or
half-installed package) is set aside with its error instead of taking every other
kind down with it.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from channelport.connectors.base import ConnectorKind
from channelport.errors import NotFound

GROUP = "channelport.connectors"
log = logging.getLogger(__name__)


@cache
def _load() -> tuple[dict[str, ConnectorKind], dict[str, str]]:
    kinds: dict[str, ConnectorKind] = {}
    broken: dict[str, str] = {}
    for entry in entry_points(group=GROUP):
        _load_entry(entry, kinds, broken)
    return dict(sorted(kinds.items())), broken


@cache
def _load_named(name: str) -> tuple[dict[str, ConnectorKind], dict[str, str]]:
    """Only the kinds of this name: a sync needs its account's kind, and importing every
    other kind (their HTTP clients and payload schemas) would add a tenth of a second to
    each command's start."""
    kinds: dict[str, ConnectorKind] = {}
    broken: dict[str, str] = {}
    for entry in entry_points(group=GROUP, name=name):
        _load_entry(entry, kinds, broken)
    return kinds, broken


def _load_entry(entry: EntryPoint, kinds: dict[str, ConnectorKind], broken: dict[str, str]) -> None:
    try:
        loaded = entry.load()
    except Exception as exc:  # noqa: BLE001 - any import failure makes the kind unusable, not the program
        broken[entry.name] = f"{type(exc).__name__}: {exc}"
        log.warning("connector kind %s cannot be loaded: %s", entry.name, broken[entry.name])
        return
    kinds[entry.name] = loaded() if isinstance(loaded, type) else loaded


def available_kinds() -> dict[str, ConnectorKind]:
    return _load()[0]


def get_kind(name: str) -> ConnectorKind:
    kinds, broken = _load_named(name)
    if name in broken:
        raise NotFound(f"connector kind {name!r} is installed but cannot be loaded ({broken[name]})")
    if name not in kinds:
        known = ", ".join(available_kinds()) or "none installed"
        raise NotFound(f"unknown connector kind {name!r}; known kinds: {known}")
    return kinds[name]
