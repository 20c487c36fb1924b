"""Fixtures of the fault suite: the simulator ones are the end-to-end suite's own.

`market` (a seeded marketplace), `server` (it over real HTTP on loopback) and
`connected` (two accounts importing all five events) come from tests/sync/conftest.py,
so a fault here meets exactly the setup the sync tests prove correct without faults.
"""

from __future__ import annotations

from tests.sync.conftest import connected, market, server  # noqa: F401  (fixtures)
