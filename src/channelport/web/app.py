"""One FastAPI app: the REST API under /api/v1 and the HTML interface, on one runtime.

`create_app(rt)` takes an open runtime, so tests hand it theirs (with its clock) and
`channelport serve` hands it the installation's. Manual syncs started here run in the
app's background pool, which the app's lifespan stops with the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from channelport import __version__
from channelport.crypto import load_key
from channelport.metrics import render_metrics
from channelport.errors import ChannelportError
from channelport.services.runtime import Runtime
from channelport.web import api
from channelport.web.background import BackgroundSyncs
from channelport.web.guard import Guard
from channelport.web.pages import accounts, auth, events, imports, orders, syncs, system
from channelport.web.problems import PROBLEM_JSON, on_channelport_error, on_http_error, on_validation_error
from channelport.web.ratelimit import LoginThrottle
from channelport.web.schemas import Health
from channelport.web.sessions import SessionCodec, derive_key

STATIC = Path(__file__).resolve().parent / "static"
DESCRIPTION = (
    "Channelport's REST API: channel accounts, the Import tab, manual syncs and their runs, imported orders, "
    "received events, workers and the edition. Authenticate with `Authorization: Bearer <token>`; create a "
    "token with `channelport token create --name NAME`. Errors are `application/problem+json`."
)


def create_app(rt: Runtime, *, sync_concurrency: int = 4, throttle: LoginThrottle | None = None) -> FastAPI:
    background = BackgroundSyncs(rt, concurrency=sync_concurrency)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(background.close)

    app = FastAPI(
        title="Channelport", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url=None,  # the interactive docs would load scripts from a CDN
    )
    app.state.runtime = rt
    app.state.syncs = background
    app.state.throttle = throttle or LoginThrottle()

    app.include_router(api.router)
    for module in (auth, accounts, imports, syncs, orders, events, system):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health", response_model=Health, tags=["system"], summary="Liveness; needs no authentication")
    def health() -> Health:
        return Health()

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        body, content_type = render_metrics(rt, request.headers.get("accept"))
        return Response(body, media_type=content_type)

    @app.get(f"{api.PREFIX}/openapi.json", include_in_schema=False)
    def openapi_json(_request: Request) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.add_exception_handler(ChannelportError, on_channelport_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_middleware(Guard, runtime=rt, codec=SessionCodec(derive_key(load_key(rt.settings))))
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error answer declared as problem+json, as it is sent."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in document["paths"].values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = dict(problem)
    app.openapi_schema = document
    return document
