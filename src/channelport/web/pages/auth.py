"""Logging in and out. The login form is the one page open to everybody."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from channelport.services import users
from channelport.web.deps import CsrfChecked, PageDep, RuntimeDep, SessionDep, ThrottleDep
from channelport.web.pages.forms import text

router = APIRouter(include_in_schema=False)


def safe_next(target: str) -> str:
    """Only a path on this site: never `//evil.example` or an absolute URL."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/accounts"


@router.get("/login")
def login_form(page: PageDep, next: str = "/accounts") -> Response:
    if page.user is not None:
        return page.redirect(safe_next(next))
    return page.render("login.html", next=safe_next(next), name="", error=None)


@router.post("/login", dependencies=[CsrfChecked])
async def login(request: Request, page: PageDep, rt: RuntimeDep, session: SessionDep,
                throttle: ThrottleDep) -> Response:
    form = await request.form()
    name, password, target = text(form, "username", limit=100), str(form.get("password") or ""), text(form, "next")
    address = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(name, address)
    if wait is not None:
        error = page.t("Too many failed attempts. Try again in {minutes} minutes.", minutes=str(-(-wait // 60)))
        return page.render("login.html", status=429, next=safe_next(target), name=name, error=error)
    # scrypt takes a while: off the event loop, so other requests go on meanwhile
    user = await run_in_threadpool(users.authenticate, rt, name=name, password=password[:1024])
    if user is None:
        throttle.failed(name, address)
        error = page.t("Wrong user name or password.")
        return page.render("login.html", status=401, next=safe_next(target), name=name, error=error)
    throttle.succeeded(name, address)
    session.log_in(user.name, user.password_version)
    return page.redirect(safe_next(target))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(page: PageDep, session: SessionDep) -> Response:
    session.log_out()
    return page.redirect("/login", page.t("You are logged out."))
