"""The one gate every request passes: authentication, the session cookie, security headers.

It is ASGI middleware rather than a FastAPI dependency on purpose: a dependency runs
after FastAPI has read and validated the body, so a malformed request would learn
"422" before "401". Here nothing of the app runs for a caller who is not
authenticated, whatever the route, including routes that do not exist. Only the login
page, static files and `/health` are open.

- `/api/...`: an API token in `Authorization: Bearer ...`; otherwise 401 problem+json.
- every other page: a signed session cookie naming a user whose password has not
  changed since; otherwise a redirect to the login page.
- state-changing page requests from another origin are refused (CSRF tokens, checked
  by each form's route, are the main defence; this is the cheap second one).
"""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channelport.services import users
from channelport.services.runtime import Runtime
from channelport.web.i18n import LANGUAGES, choose_language
from channelport.web.pages.rendering import error_page
from channelport.web.problems import INTERNAL, problem_response
from channelport.web.sessions import COOKIE, MAX_AGE, SessionCodec

log = logging.getLogger(__name__)

LANGUAGE_COOKIE = "cp_lang"
PUBLIC_PATHS = frozenset({"/login", "/health"})
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def classify(path: str) -> str:
    if path == "/api" or path.startswith("/api/") or path == "/metrics":  # Prometheus scrapes with a bearer token
        return "api"
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return "public"
    return "page"


class Guard:
    def __init__(self, app: ASGIApp, *, runtime: Runtime, codec: SessionCodec) -> None:
        self.app = app
        self.rt = runtime
        self.codec = codec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        kind = classify(scope["path"])
        asked = request.query_params.get("lang")
        language = choose_language(asked or request.cookies.get(LANGUAGE_COOKIE))
        state["language"] = language
        remember_language = asked in LANGUAGES and asked != request.cookies.get(LANGUAGE_COOKIE)
        wants_session = kind == "page" or scope["path"] == "/login"  # not the API, static files or /health
        session = self.codec.load(request.cookies.get(COOKIE)) if wants_session else None
        state["session"] = session
        secure = scope.get("scheme") == "https"

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if kind != "public" or scope["path"] == "/login":
                    headers.setdefault("cache-control", "no-store")
                if session is not None and session.dirty:
                    headers.append("set-cookie", _cookie(COOKIE, self.codec.dump(session), MAX_AGE, secure))
                if remember_language:
                    headers.append("set-cookie", _cookie(LANGUAGE_COOKIE, language, 365 * 86400, secure))
            await send(message)

        refusal = await self._refusal(request, kind, state)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # answered here, so a 500 carries the security headers too
            log.error("request %s %s crashed", request.method, scope["path"], exc_info=exc)
            if started:
                raise
            crash = problem_response(500, INTERNAL) if kind == "api" else error_page(request, 500, INTERNAL)
            await crash(scope, receive, send_with_headers)

    async def _refusal(self, request: Request, kind: str, state: dict[str, Any]) -> Response | None:
        if kind == "api":
            caller = await run_in_threadpool(self._api_caller, request.headers.get("authorization", ""))
            if caller is None:
                return problem_response(
                    401,
                    "send a valid API token as `Authorization: Bearer <token>`; "
                    "create one with `channelport token create --name NAME`",
                    headers={"WWW-Authenticate": 'Bearer realm="channelport"'},
                )
            state["caller"] = caller
            return None
        if request.method not in SAFE_METHODS and not _same_origin(request):
            return PlainTextResponse("cross-origin request refused", status_code=403)
        if kind == "public":
            return None
        session = state["session"]
        assert session is not None
        user = None
        if session.user and session.password_version:
            user = await run_in_threadpool(
                users.session_user, self.rt, name=session.user, password_version=session.password_version
            )
        if user is None:
            if session.user:
                session.log_out()
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            next_part = f"?next={quote(target, safe='')}" if request.method == "GET" and target != "/" else ""
            return RedirectResponse(f"/login{next_part}", status_code=303)
        state["user"] = user
        return None

    def _api_caller(self, header: str) -> str | None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return users.token_owner(self.rt, token.strip())


def _same_origin(request: Request) -> bool:
    """True unless the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["max-age"] = str(max_age)
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()
