"""Channel accounts (Verkaufskanalverwaltung): add, edit, activate, lock, remove."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError
from sqlalchemy import Connection

from channelport.connectors.base import AccountConfig
from channelport.connectors.registry import get_kind
from channelport.domain.accounts import Account, validate_account_name
from channelport.domain.instants import zone
from channelport.errors import Conflict, NotFound, UsageError
from channelport.services.runtime import Runtime
from channelport.store import accounts as repo
from channelport.store.db import read_only, unit_of_work


def add_account(
    rt: Runtime,
    *,
    name: str,
    kind: str,
    url: str,
    seller_id: str,
    token: str,
    timezone: str = "Europe/Berlin",
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Account:
    _check(validate_account_name, name)
    connector_kind = get_kind(kind)
    values = {
        "name": name,
        "kind": kind,
        "url": _valid_url(url),
        "seller_id": _valid_seller_id(seller_id),
        "timezone": _valid_timezone(timezone),
        "settings": _valid_settings(connector_kind, settings or {}),
        "credentials": rt.box.seal({"token": _valid_token(token), "secrets": _valid_secrets(connector_kind, secrets)}),
    }
    with unit_of_work(rt.engine) as conn:
        if repo.find_account(conn, name):
            raise Conflict(f"an account named {name!r} exists already; choose another name or edit it")
        account_id = repo.insert_account(conn, values=values, now=rt.now())
        return repo.get_account_by_id(conn, account_id)


def list_accounts(rt: Runtime) -> list[Account]:
    with read_only(rt.engine) as conn:
        return repo.list_accounts(conn)


def get_account(rt: Runtime, name: str) -> Account:
    with read_only(rt.engine) as conn:
        return account_or_fail(conn, name)


def edit_account(
    rt: Runtime,
    name: str,
    *,
    url: str | None = None,
    seller_id: str | None = None,
    token: str | None = None,
    timezone: str | None = None,
    settings: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Account:
    with unit_of_work(rt.engine) as conn:
        account = account_or_fail(conn, name)
        kind = get_kind(account.kind)
        values: dict[str, Any] = {}
        if url is not None:
            values["url"] = _valid_url(url)
        if seller_id is not None:
            values["seller_id"] = _valid_seller_id(seller_id)
        if timezone is not None:
            values["timezone"] = _valid_timezone(timezone)
        if settings:
            values["settings"] = _valid_settings(kind, {**account.settings, **settings})
        if token is not None or secrets:
            stored = rt.box.open(repo.sealed_credentials(conn, account.id))
            new_secrets = {**stored.get("secrets", {}), **_valid_secrets(kind, secrets)}
            values["credentials"] = rt.box.seal(
                {"token": _valid_token(token) if token is not None else stored["token"], "secrets": new_secrets}
            )
            values["credentials_rejected"] = None
        if not values:
            raise UsageError("nothing to change; give at least one option (see --help)")
        if {"url", "seller_id", "credentials"} & values.keys():
            values["subscription_changed"] = True
        repo.update_account(conn, account.id, now=rt.now(), **values)
        return repo.get_account_by_id(conn, account.id)


def set_active(rt: Runtime, name: str, *, active: bool) -> Account:
    return _update(rt, name, active=active)


def lock_account(rt: Runtime, name: str, *, reason: str) -> Account:
    reason = reason.strip()
    if not reason:
        raise UsageError("give a reason for the lock (--reason TEXT); it is shown to everyone who sees the account")
    return _update(rt, name, locked=True, lock_reason=reason[:500])


def unlock_account(rt: Runtime, name: str) -> Account:
    return _update(rt, name, locked=False, lock_reason=None)


def remove_account(rt: Runtime, name: str, *, delete_orders: bool = False) -> int:
    """Remove an account; refused while it has imported orders unless they go too."""
    with unit_of_work(rt.engine) as conn:
        account = account_or_fail(conn, name)
        count = repo.order_count(conn, account.id)
        if count and not delete_orders:
            raise Conflict(
                f"account {name!r} has {count} imported orders; pass --delete-orders to remove them with it"
            )
        repo.delete_account(conn, account.id)
        return count


def connector_config(rt: Runtime, conn: Connection, account: Account) -> AccountConfig:
    """The decrypted configuration a connector needs; never leaves the process."""
    stored = rt.box.open(repo.sealed_credentials(conn, account.id))
    return AccountConfig(
        url=account.url,
        seller_id=account.seller_id,
        token=str(stored["token"]),
        timezone=account.timezone,
        settings=dict(account.settings),
        secrets=dict(stored.get("secrets", {})),  # type: ignore[arg-type]
    )


def account_or_fail(conn: Connection, name: str) -> Account:
    account = repo.find_account(conn, name)
    if account is None:
        names = repo.account_names(conn)
        hint = f"known accounts: {', '.join(names)}" if names else "no accounts yet; add one with `account add`"
        raise NotFound(f"unknown account {name!r}; {hint}")
    return account


def _update(rt: Runtime, name: str, **values: Any) -> Account:
    with unit_of_work(rt.engine) as conn:
        account = account_or_fail(conn, name)
        repo.update_account(conn, account.id, now=rt.now(), **values)
        return repo.get_account_by_id(conn, account.id)


def _check(validator: Any, value: Any) -> Any:
    try:
        return validator(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _valid_url(url: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"invalid URL {url!r}: give the channel's base URL, e.g. https://api.example.com")
    return url.strip().rstrip("/")


def _valid_seller_id(seller_id: str) -> str:
    seller_id = seller_id.strip()
    if not 1 <= len(seller_id) <= 150:
        raise UsageError("the seller id must have 1 to 150 characters")
    return seller_id


def _valid_timezone(name: str) -> str:
    _check(zone, name)
    return name


def _valid_token(token: str) -> str:
    token = token.strip()
    if not token:
        raise UsageError("the token is empty; pass it through --token-env VAR or --token-stdin")
    return token


def _valid_settings(kind: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    try:
        model = kind.settings_model(**settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise UsageError(f"invalid settings for kind {kind.name}: {problems}") from None
    return model.model_dump(mode="json", exclude_unset=True)


def _valid_secrets(kind: Any, secrets: Mapping[str, str] | None) -> dict[str, str]:
    secrets = dict(secrets or {})
    unknown = sorted(set(secrets) - set(kind.secret_names))
    if unknown:
        known = ", ".join(kind.secret_names) or "none"
        raise UsageError(f"kind {kind.name} has no secret {', '.join(unknown)}; its secrets: {known}")
    return secrets
