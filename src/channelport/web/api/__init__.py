"""The REST API under /api/v1: the same services as the CLI, as JSON."""

from __future__ import annotations

from fastapi import APIRouter

from channelport.web.api import accounts, events, imports, orders, syncs, system
from channelport.web.api.common import PROBLEMS
from channelport.web.deps import ApiAuthenticated

PREFIX = "/api/v1"

router = APIRouter(prefix=PREFIX, dependencies=[ApiAuthenticated], responses=PROBLEMS)
for module in (accounts, imports, syncs, orders, events, system):
    router.include_router(module.router)

__all__ = ["PREFIX", "router"]
