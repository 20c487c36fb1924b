"""Connector kinds come from entry points; a sync loads only its account's kind."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from channelport.connectors import registry
from channelport.errors import NotFound


def test_a_sync_imports_only_the_kind_it_uses() -> None:
    """Every other kind's client and schemas stay unimported: a tenth of a second of each command's start."""
    probe = (
        "import sys; from channelport.connectors.registry import get_kind; get_kind('event-api'); "
        "print(sorted(m for m in sys.modules if m.startswith('channelport.connectors.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "channelport.connectors.event_api'" in loaded
    assert "amazon" not in loaded and "woocommerce" not in loaded


def test_a_kind_that_cannot_be_imported_says_so_and_leaves_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = EntryPoint("broken-kind", "channelport_no_such_package.kind:Kind", registry.GROUP)
    real = registry.entry_points

    def with_broken(**selection: str) -> list[EntryPoint]:
        found = list(real(**selection))
        if selection.get("name") in (None, "broken-kind"):
            found.append(broken)
        return found

    monkeypatch.setattr(registry, "entry_points", with_broken)
    registry._load.cache_clear()
    registry._load_named.cache_clear()
    try:
        with pytest.raises(NotFound, match="'broken-kind' is installed but cannot be loaded .*ModuleNotFoundError"):
            registry.get_kind("broken-kind")
        with pytest.raises(NotFound, match="unknown connector kind 'nope'; known kinds: .*event-api"):
            registry.get_kind("nope")
        assert "event-api" in registry.available_kinds() and "broken-kind" not in registry.available_kinds()
        assert registry.get_kind("event-api").name == "event-api"
    finally:
        registry._load.cache_clear()
        registry._load_named.cache_clear()
