"""The installation around the syncs: worker health and the booked packages."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from channelport.domain.accounts import KNOWN_PACKAGES
from channelport.services import installation, worker
from channelport.web.deps import PageDep, RuntimeDep

router = APIRouter(include_in_schema=False)


@router.get("/system")
def system(page: PageDep, rt: RuntimeDep) -> Response:
    return page.render("system.html", section="system", workers=worker.worker_status(rt),
                       packages=installation.show_packages(rt), known=KNOWN_PACKAGES)
