"""Rendering pages: one Jinja environment, and `Page`, what every page route is handed.

Templates are autoescaped and use StrictUndefined, so a misspelt variable fails a
test instead of rendering as an empty string in front of a merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from channelport.domain.events import EVENT_TYPES
from channelport.services.users import User
from channelport.web.i18n import LANGUAGES, Translator, choose_language
from channelport.web.sessions import Session

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DISPLAY_TZ = "Europe/Berlin"  # for instants that belong to no account (worker heartbeats)

# The Import tab's wording, as the merchants know it from their ERP.
EVENT_LABELS = {
    "order": "Orders",
    "status": "Order: status update",
    "address": "Order: address update",
    "cancellation_accepted": "Accepted order cancellation",
    "cancellation_denied": "Denied order cancellation",
}

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(EVENT_TYPES=[str(t) for t in EVENT_TYPES], EVENT_LABELS=EVENT_LABELS, DISPLAY_TZ=DISPLAY_TZ,
                   LANGUAGES=LANGUAGES, quote=lambda value: quote(str(value), safe=""))


@dataclass
class Page:
    request: Request
    t: Translator
    session: Session
    user: User | None

    def render(self, template: str, *, status: int = 200, section: str = "", **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(
            _=self.t.gettext,
            t=self.t,
            user=self.user,
            csrf=self.session.csrf,
            notices=self.session.take_notices(),
            section=section,
            lang_url=self.lang_url,
            request_path=self.request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, url: str, notice: str | None = None, *, kind: str = "success") -> RedirectResponse:
        """Post/redirect/get: the notice travels in the session and shows once."""
        if notice:
            self.session.notify(kind, notice)
        return RedirectResponse(url, status_code=303)

    def translated(self, exc: Exception) -> str:
        """A form error in the user's language; a service's message as it is (they speak English)."""
        message = getattr(exc, "message", None)
        if message is None:
            return self.t(str(exc))
        return self.t(message, **{k: self.t(v) for k, v in getattr(exc, "values", {}).items()})

    def lang_url(self, language: str) -> str:
        """This page in another language (a plain link: the guard remembers the choice)."""
        params = {**self.request.query_params, "lang": language}
        return f"{self.request.url.path}?{urlencode(params)}"


def page_for(request: Request) -> Page:
    state = request.state
    session = getattr(state, "session", None) or Session()
    return Page(request, Translator(choose_language(getattr(state, "language", None))), session,
                getattr(state, "user", None))


def error_page(request: Request, status: int, detail: str, exc: Exception | None = None) -> HTMLResponse:
    page = page_for(request)
    text = page.translated(exc) if exc is not None else page.t(detail)
    return page.render("error.html", status=status, status_code=status, detail=text)


def back_with_error(request: Request, exc: Exception) -> RedirectResponse | None:
    """After a refused form: back to the page it came from, the reason shown there."""
    referer = urlsplit(request.headers.get("referer", ""))
    if not referer.path.startswith("/") or referer.netloc != request.headers.get("host", ""):
        return None
    page = page_for(request)
    text = page.translated(exc)
    target = referer.path + (f"?{referer.query}" if referer.query else "")
    return page.redirect(target, text, kind="error")
