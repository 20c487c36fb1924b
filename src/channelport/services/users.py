"""Users of the web interface and API tokens: create, check, revoke.

Passwords are hashed with scrypt from the standard library, with a random salt per
user and the cost parameters stored beside the hash, so they can be raised later
without locking anyone out. A failed check takes as long for an unknown user as for a
wrong password, so the login form does not tell which names exist.

API tokens are 256 random bits; only their SHA-256 is stored. A slow hash would add
nothing for a value that cannot be guessed, and the fast one lets every API request
find its token with one indexed lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from channelport.errors import Conflict, NotFound, UsageError
from channelport.services.runtime import Runtime
from channelport.store import auth as repo
from channelport.store.db import read_only, unit_of_work

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 10
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
TOKEN_PREFIX = "cpt_"
TOUCH_EVERY = timedelta(minutes=1)  # how stale a token's "last used" may get: saves a write per request


@dataclass(frozen=True)
class User:
    id: int
    name: str
    password_version: str  # changes with the password: sessions made before a change end


@dataclass(frozen=True)
class TokenInfo:
    name: str
    created_at: datetime
    last_used_at: datetime | None


# --- passwords ------------------------------------------------------------------------


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = hashlib.scrypt(
            password.encode(), salt=base64.urlsafe_b64decode(salt + "=="), n=int(n), r=int(r), p=int(p),
            dklen=len(expected), maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that answer takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def add_user(rt: Runtime, *, name: str, password: str) -> User:
    name = _valid_name(name, "user")
    _check_password(password)
    password_hash = hash_password(password)
    with unit_of_work(rt.engine) as conn:
        if repo.find_user(conn, name):
            raise Conflict(f"a user named {name!r} exists already; choose another name")
        user_id = repo.insert_user(conn, name=name, password_hash=password_hash, now=rt.now())
    return User(user_id, name, _version(password_hash))


def set_password(rt: Runtime, *, name: str, password: str) -> User:
    _check_password(password)
    password_hash = hash_password(password)
    with unit_of_work(rt.engine) as conn:
        row = repo.find_user(conn, name)
        if row is None:
            raise NotFound(f"unknown user {name!r}")
        repo.set_password_hash(conn, row.id, password_hash=password_hash, now=rt.now())
    return User(row.id, name, _version(password_hash))


def remove_user(rt: Runtime, *, name: str) -> None:
    with unit_of_work(rt.engine) as conn:
        if not repo.delete_user(conn, name):
            raise NotFound(f"unknown user {name!r}")


def list_users(rt: Runtime) -> list[str]:
    with read_only(rt.engine) as conn:
        return [row.name for row in repo.list_users(conn)]


def authenticate(rt: Runtime, *, name: str, password: str) -> User | None:
    """The user when the password is right, else None (in the same time either way)."""
    with read_only(rt.engine) as conn:
        row = repo.find_user(conn, name)
    stored = row.password_hash if row is not None else _dummy_hash()
    ok = password_matches(password, stored)
    if row is None or not ok:
        return None
    return User(row.id, row.name, _version(row.password_hash))


def session_user(rt: Runtime, *, name: str, password_version: str) -> User | None:
    """The user a session names, if it still exists and its password did not change since."""
    with read_only(rt.engine) as conn:
        row = repo.find_user(conn, name)
    if row is None or not hmac.compare_digest(_version(row.password_hash), password_version):
        return None
    return User(row.id, row.name, password_version)


# --- API tokens -------------------------------------------------------------------------


def create_token(rt: Runtime, *, name: str) -> str:
    """A new token; the value is returned once and never stored."""
    name = _valid_name(name, "token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(rt.engine) as conn:
        if repo.find_token_by_name(conn, name):
            raise Conflict(f"a token named {name!r} exists already; revoke it first or choose another name")
        repo.insert_token(conn, name=name, token_hash=_token_hash(token), now=rt.now())
    return token


def revoke_token(rt: Runtime, *, name: str) -> None:
    with unit_of_work(rt.engine) as conn:
        if not repo.delete_token(conn, name):
            raise NotFound(f"unknown token {name!r}; `channelport token list` shows the names")


def list_tokens(rt: Runtime) -> list[TokenInfo]:
    with read_only(rt.engine) as conn:
        return [TokenInfo(row.name, row.created_at, row.last_used_at) for row in repo.list_tokens(conn)]


def token_owner(rt: Runtime, token: str) -> str | None:
    """The name of the token's entry when the token is valid, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _token_hash(token)
    now = rt.now()
    with read_only(rt.engine) as conn:
        row = repo.find_token_by_hash(conn, digest)
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        with unit_of_work(rt.engine) as conn:
            repo.touch_token(conn, row.id, now=now)
    return str(row.name)


# --- helpers ------------------------------------------------------------------------------


def _valid_name(name: str, what: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise UsageError(
            f"invalid {what} name {name!r}: use 1 to 100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short; use at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise UsageError("the password is too long; use at most 1024 characters")


def _version(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
