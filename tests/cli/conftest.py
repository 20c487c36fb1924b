"""The CLI's sync tests use the simulator fixtures of the sync tests."""

from tests.sync.conftest import connected, market, server  # noqa: F401
