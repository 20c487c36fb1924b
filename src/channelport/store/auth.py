"""Who may use the web interface and the REST API: users and API tokens.

Both tables live on the same `metadata` as the rest of the schema, so one Alembic
history covers them. Only derived values are stored: a user's password as a salted
scrypt hash, an API token as the SHA-256 of its (random, high-entropy) value, so a copy
of the database lets nobody log in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, delete, insert, select, update

from channelport.store.tables import metadata
from channelport.store.types import UTCDateTime

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # hex SHA-256 of the token
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
)


# --- users -----------------------------------------------------------------------------


def find_user(conn: Connection, name: str) -> Any | None:
    return conn.execute(select(users).where(users.c.name == name)).first()


def insert_user(conn: Connection, *, name: str, password_hash: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(users).values(name=name, password_hash=password_hash, created_at=now, updated_at=now)
        ).inserted_primary_key[0]
    )


def set_password_hash(conn: Connection, user_id: int, *, password_hash: str, now: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash, updated_at=now))


def delete_user(conn: Connection, name: str) -> bool:
    return conn.execute(delete(users).where(users.c.name == name)).rowcount > 0


def list_users(conn: Connection) -> list[Any]:
    return list(conn.execute(select(users.c.id, users.c.name, users.c.created_at).order_by(users.c.name)))


# --- API tokens --------------------------------------------------------------------------


def find_token_by_hash(conn: Connection, token_hash: str) -> Any | None:
    return conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash)).first()


def find_token_by_name(conn: Connection, name: str) -> Any | None:
    return conn.execute(select(api_tokens).where(api_tokens.c.name == name)).first()


def insert_token(conn: Connection, *, name: str, token_hash: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(api_tokens).values(name=name, token_hash=token_hash, created_at=now)
        ).inserted_primary_key[0]
    )


def touch_token(conn: Connection, token_id: int, *, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def delete_token(conn: Connection, name: str) -> bool:
    return conn.execute(delete(api_tokens).where(api_tokens.c.name == name)).rowcount > 0


def list_tokens(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.last_used_at).order_by(api_tokens.c.name)
        )
    )
