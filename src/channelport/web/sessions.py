"""Signed session cookies: who is logged in, the CSRF token, and one-shot notices.

The cookie is signed, not encrypted: it holds nothing secret (a user name, a password
*version* and a random CSRF token), and the signature makes it impossible to forge. The
signing key is derived from the installation's secret key, so no further secret has to
be created or backed up; a stolen cookie expires after `MAX_AGE` and every session ends
when the user's password changes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "cp_session"
MAX_AGE = 12 * 3600


def derive_key(installation_key: bytes) -> bytes:
    return hmac.new(installation_key, b"channelport web session v1", hashlib.sha256).digest()


@dataclass
class Session:
    """The decoded cookie; changing it marks it dirty so the guard sends a new cookie."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: str | None = None
    password_version: str | None = None
    notices: list[tuple[str, str]] = field(default_factory=list)
    dirty: bool = False

    def log_in(self, user: str, password_version: str) -> None:
        """A fresh CSRF token on login, so a token seen before login is worth nothing after."""
        self.user, self.password_version = user, password_version
        self.csrf = secrets.token_urlsafe(32)
        self.dirty = True

    def log_out(self) -> None:
        self.user = self.password_version = None
        self.csrf = secrets.token_urlsafe(32)
        self.notices = []
        self.dirty = True

    def notify(self, kind: str, text: str) -> None:
        self.notices.append((kind, text[:500]))
        self.dirty = True

    def take_notices(self) -> list[tuple[str, str]]:
        notices, self.notices = self.notices, []
        if notices:
            self.dirty = True
        return notices

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


class SessionCodec:
    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="channelport.session")

    def load(self, cookie: str | None) -> Session:
        """The session in the cookie, or a fresh anonymous one (marked dirty, so it is sent)."""
        if cookie:
            try:
                data: dict[str, Any] = self._serializer.loads(cookie, max_age=MAX_AGE)
                return Session(
                    csrf=str(data["c"]),
                    user=data.get("u"),
                    password_version=data.get("v"),
                    notices=[(str(k), str(t)) for k, t in data.get("n", [])][:10],
                )
            except (BadSignature, KeyError, TypeError, ValueError):
                pass
        return Session(dirty=True)

    def dump(self, session: Session) -> str:
        data: dict[str, Any] = {"c": session.csrf}
        if session.user:
            data.update(u=session.user, v=session.password_version)
        if session.notices:
            data["n"] = session.notices[-10:]
        return self._serializer.dumps(data)
