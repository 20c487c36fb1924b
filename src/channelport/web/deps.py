"""FastAPI dependencies, each declared once as an `Annotated` alias the routes name.

Authentication itself happens in `guard.Guard` before any route runs; these only hand
its results to the routes (and declare the bearer scheme in the OpenAPI document).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from channelport.services.runtime import Runtime
from channelport.services.users import User
from channelport.web.background import BackgroundSyncs
from channelport.web.i18n import Translator
from channelport.web.pages.rendering import Page, page_for
from channelport.web.ratelimit import LoginThrottle
from channelport.web.sessions import Session

bearer = HTTPBearer(auto_error=False, description="an API token from `channelport token create --name NAME`")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _syncs(request: Request) -> BackgroundSyncs:
    return request.app.state.syncs


def _throttle(request: Request) -> LoginThrottle:
    return request.app.state.throttle


def _api_caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> str:
    return request.state.caller


def _user(request: Request) -> User:
    return request.state.user


def _session(request: Request) -> Session:
    return request.state.session


def _translator(request: Request) -> Translator:
    return Translator(request.state.language)


def _page(request: Request) -> Page:
    return page_for(request)


async def _csrf_checked(request: Request) -> None:
    """Every state-changing form carries the session's CSRF token; without it nothing happens."""
    form = await request.form()
    token = form.get("csrf_token")
    if not request.state.session.csrf_matches(token if isinstance(token, str) else None):
        raise HTTPException(status_code=403, detail="The form has expired. Reload the page and try again.")


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
SyncsDep = Annotated[BackgroundSyncs, Depends(_syncs)]
ThrottleDep = Annotated[LoginThrottle, Depends(_throttle)]
ApiCaller = Annotated[str, Depends(_api_caller)]
CurrentUser = Annotated[User, Depends(_user)]
SessionDep = Annotated[Session, Depends(_session)]
TranslatorDep = Annotated[Translator, Depends(_translator)]
PageDep = Annotated[Page, Depends(_page)]
CsrfChecked = Depends(_csrf_checked)
ApiAuthenticated = Security(_api_caller)  # for routers: every API operation documents the bearer scheme
