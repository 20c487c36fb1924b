"""Errors as RFC 9457 problem details for the API, and as a page for people.

The mapping follows the exception tree in `channelport.errors`: a person's mistake is
4xx with the service's own message (it says what to do), a sync that must not run is
409, anything else is 500 with no internals: the traceback goes to the log only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelport.errors import AccountBusy, Conflict, NotFound, SyncRefused, UsageError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
INTERNAL = "an internal error occurred; the server log has the details"


def status_of(exc: Exception) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict | SyncRefused | AccountBusy):
        return 409
    if isinstance(exc, UsageError):
        return 400
    return 500


def problem_response(status: int, detail: str | None, *, headers: dict[str, str] | None = None,
                     extra: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def wants_problem(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def on_channelport_error(request: Request, exc: Exception) -> Response:
    status = status_of(exc)
    detail = str(exc) if status < 500 else INTERNAL
    if status >= 500:
        log.error("request %s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    if wants_problem(request):
        return problem_response(status, detail)
    from channelport.web.pages.rendering import back_with_error  # the pages import this module

    back = back_with_error(request, exc) if status < 500 and request.method == "POST" else None
    return back or await _error_page(request, status, detail, exc if status < 500 else None)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("request %s %s crashed", request.method, request.url.path, exc_info=exc)
    if wants_problem(request):
        return problem_response(500, INTERNAL)
    return await _error_page(request, 500, INTERNAL)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_problem(request):
        return problem_response(exc.status_code, str(exc.detail) if exc.detail else None, headers=exc.headers)
    return await _error_page(request, exc.status_code, str(exc.detail or HTTPStatus(exc.status_code).phrase))


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")} for err in exc.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5]) or "invalid request"
    if wants_problem(request):
        return problem_response(422, summary, extra={"errors": problems})
    return await _error_page(request, 400, summary)


async def _error_page(request: Request, status: int, detail: str, exc: Exception | None = None) -> Response:
    from channelport.web.pages.rendering import error_page  # the pages import this module

    return error_page(request, status, detail, exc)
