"""Channel account rows, their event imports, the edition, and the sync lease."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from channelport.connectors.base import EventImport
from channelport.domain.accounts import Account
from channelport.domain.events import EVENT_TYPES, EventType
from channelport.store.tables import channel_accounts, edition, event_imports, orders

_ACCOUNT_COLUMNS = (
    "id",
    "name",
    "kind",
    "url",
    "seller_id",
    "timezone",
    "active",
    "locked",
    "lock_reason",
    "settings",
    "credentials_rejected",
    "last_sync_at",
    "last_sync_status",
    "last_success_at",
    "subscription_changed",
)


def _account(row: Any) -> Account:
    return Account(**{name: getattr(row, name) for name in _ACCOUNT_COLUMNS})


def insert_account(conn: Connection, *, values: Mapping[str, Any], now: datetime) -> int:
    account_id = conn.execute(
        insert(channel_accounts).values(
            **values,
            active=True,
            locked=False,
            subscription_changed=True,
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(event_imports),
        [{"account_id": account_id, "event_type": str(t), "enabled": False, "pending": False} for t in EVENT_TYPES],
    )
    return int(account_id)


def find_account(conn: Connection, name: str) -> Account | None:
    row = conn.execute(select(channel_accounts).where(channel_accounts.c.name == name)).first()
    return _account(row) if row else None


def get_account_by_id(conn: Connection, account_id: int) -> Account:
    return _account(conn.execute(select(channel_accounts).where(channel_accounts.c.id == account_id)).one())


def list_accounts(conn: Connection) -> list[Account]:
    return [_account(row) for row in conn.execute(select(channel_accounts).order_by(channel_accounts.c.name))]


def account_names(conn: Connection) -> list[str]:
    return list(conn.scalars(select(channel_accounts.c.name).order_by(channel_accounts.c.name)))


def sealed_credentials(conn: Connection, account_id: int) -> str:
    return conn.scalar(select(channel_accounts.c.credentials).where(channel_accounts.c.id == account_id))


def update_account(conn: Connection, account_id: int, *, now: datetime, **values: Any) -> None:
    conn.execute(update(channel_accounts).where(channel_accounts.c.id == account_id).values(**values, updated_at=now))


def delete_account(conn: Connection, account_id: int) -> None:
    conn.execute(delete(channel_accounts).where(channel_accounts.c.id == account_id))


def order_count(conn: Connection, account_id: int) -> int:
    return int(conn.scalar(select(func.count()).select_from(orders).where(orders.c.account_id == account_id)) or 0)


# --- event imports (the Import tab) -------------------------------------------------


def load_imports(conn: Connection, account_id: int) -> list[EventImport]:
    rows = {
        row.event_type: row
        for row in conn.execute(select(event_imports).where(event_imports.c.account_id == account_id))
    }
    result = []
    for event_type in EVENT_TYPES:
        row = rows.get(str(event_type))
        result.append(
            EventImport(event_type, row.enabled, row.import_from, row.pending)
            if row
            else EventImport(event_type, False)
        )
    return result


def save_imports(conn: Connection, account_id: int, imports: Iterable[EventImport], *, now: datetime) -> None:
    for item in imports:
        conn.execute(
            update(event_imports)
            .where(event_imports.c.account_id == account_id, event_imports.c.event_type == str(item.event_type))
            .values(
                enabled=item.enabled,
                import_from=item.import_from,
                pending=item.pending,
                requested_at=now if item.pending else event_imports.c.requested_at,
            )
        )
    update_account(conn, account_id, now=now, subscription_changed=True)


def mark_delivered(conn: Connection, account_id: int, delivered: Sequence[EventType], *, now: datetime) -> None:
    """The channel accepted the subscription: pending requests are done, the "from" stays."""
    if delivered:
        conn.execute(
            update(event_imports)
            .where(
                event_imports.c.account_id == account_id,
                event_imports.c.event_type.in_([str(t) for t in delivered]),
            )
            .values(pending=False, delivered_at=now)
        )
    update_account(conn, account_id, now=now, subscription_changed=False)


# --- edition ------------------------------------------------------------------------


def load_packages(conn: Connection) -> frozenset[str] | None:
    text = conn.scalar(select(edition.c.packages).where(edition.c.id == 1))
    if text is None:
        return None
    return frozenset(p for p in text.split(",") if p)


def save_packages(conn: Connection, packages: Iterable[str], *, now: datetime) -> None:
    text = ",".join(sorted(packages))
    if conn.execute(update(edition).where(edition.c.id == 1).values(packages=text, updated_at=now)).rowcount == 0:
        conn.execute(insert(edition).values(id=1, packages=text, updated_at=now))


# --- the sync lease -----------------------------------------------------------------


def take_lease(conn: Connection, account_id: int, *, owner: str, now: datetime, until: datetime) -> bool:
    """One atomic conditional UPDATE: free, expired, or already ours -> ours until `until`."""
    c = channel_accounts.c
    result = conn.execute(
        update(channel_accounts)
        .where(
            c.id == account_id,
            or_(c.lease_owner.is_(None), c.lease_expires_at < now, c.lease_owner == owner),
        )
        .values(lease_owner=owner, lease_expires_at=until)
    )
    return result.rowcount == 1


def renew_lease(conn: Connection, account_id: int, *, owner: str, until: datetime) -> bool:
    c = channel_accounts.c
    result = conn.execute(
        update(channel_accounts)
        .where(and_(c.id == account_id, c.lease_owner == owner))
        .values(lease_expires_at=until)
    )
    return result.rowcount == 1


def release_lease(conn: Connection, account_id: int, *, owner: str) -> None:
    c = channel_accounts.c
    conn.execute(
        update(channel_accounts)
        .where(and_(c.id == account_id, c.lease_owner == owner))
        .values(lease_owner=None, lease_expires_at=None)
    )


def lease_holder(conn: Connection, account_id: int, *, now: datetime) -> str | None:
    row = conn.execute(
        select(channel_accounts.c.lease_owner, channel_accounts.c.lease_expires_at).where(
            channel_accounts.c.id == account_id
        )
    ).one()
    if row.lease_owner and row.lease_expires_at and row.lease_expires_at >= now:
        return row.lease_owner
    return None
