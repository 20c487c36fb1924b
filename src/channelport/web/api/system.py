"""/workers and /edition: the installation around the syncs."""

from __future__ import annotations

from fastapi import APIRouter

from channelport.domain.accounts import KNOWN_PACKAGES
from channelport.services import installation, worker
from channelport.web.deps import RuntimeDep
from channelport.web.schemas import EditionIn, EditionOut, WorkerOut

router = APIRouter(tags=["system"])


def edition_out(packages: frozenset[str]) -> EditionOut:
    return EditionOut(packages=sorted(packages), known=dict(KNOWN_PACKAGES))


@router.get("/workers", response_model=list[WorkerOut], summary="Worker health: alive or stale, last heartbeat")
def workers(rt: RuntimeDep) -> list[WorkerOut]:
    return [
        WorkerOut(id=w.id, host=w.host, pid=w.pid, state=w.state, alive=w.alive, heartbeat_at=w.heartbeat_at,
                  doing=w.doing)
        for w in worker.worker_status(rt)
    ]


@router.get("/edition", response_model=EditionOut, summary="The booked packages")
def edition(rt: RuntimeDep) -> EditionOut:
    return edition_out(installation.show_packages(rt))


@router.put("/edition", response_model=EditionOut, summary="Set the booked packages")
def set_edition(rt: RuntimeDep, body: EditionIn) -> EditionOut:
    return edition_out(installation.set_packages(rt, packages=",".join(body.packages) or "none"))
