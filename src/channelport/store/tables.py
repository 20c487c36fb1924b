"""The schema, as SQLAlchemy Core tables. Migrations create it; a test keeps both equal.

Unique constraints carry the dedup rules of DESIGN.md, so a bug above the store can
still not import an order or a cancellation answer twice:
`orders (account_id, order_id)`, `cancellation_requests (account_id, request_id)`,
`received_events (account_id, event_id)`.

Addresses and the buyer are JSON columns of `orders` rather than a table of their own:
they are always read and replaced whole with their order, and each is versioned as one
part of it, so a separate table would only add joins to the hot path.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from channelport.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

edition = Table(
    "edition",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("packages", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

channel_accounts = Table(
    "channel_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(50), nullable=False),
    Column("url", String(500), nullable=False),
    Column("seller_id", String(150), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("credentials", Text, nullable=False),  # Fernet token of {"token", "secrets"}
    Column("active", Boolean, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("lock_reason", String(500)),
    Column("subscription_changed", Boolean, nullable=False),
    Column("credentials_rejected", String(1000)),  # the channel's words, until a sync succeeds
    Column("last_sync_at", UTCDateTime),
    Column("last_sync_status", String(20)),
    Column("last_success_at", UTCDateTime),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

event_imports = Table(
    "event_imports",
    metadata,
    Column("account_id", Integer, ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("event_type", String(40), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("import_from", UTCDateTime),
    Column("pending", Boolean, nullable=False),
    Column("requested_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
)

connector_state = Table(
    "connector_state",
    metadata,
    Column("account_id", Integer, ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", String(150), nullable=False),
    Column("seller_id", String(150), nullable=False),
    Column("status", String(30), nullable=False),  # as stored by status updates
    Column("shown_status", String(30), nullable=False),  # what the merchant sees (cancellations win)
    Column("purchased_at", UTCDateTime, nullable=False),
    Column("last_changed_at", UTCDateTime, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_method", String(100)),
    Column("buyer", JSON),
    Column("billing_address", JSON),
    Column("shipping_address", JSON),
    Column("status_at", UTCDateTime, nullable=False),
    Column("billing_at", UTCDateTime, nullable=False),
    Column("shipping_at", UTCDateTime, nullable=False),
    Column("buyer_at", UTCDateTime, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "order_id", name="uq_orders_account_order"),
    Index("ix_orders_account_purchased", "account_id", "purchased_at"),
    Index("ix_orders_account_imported", "account_id", "imported_at"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_pk", Integer, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("order_item_id", String(150), nullable=False),
    Column("type", String(20), nullable=False),
    Column("sku", String(200)),
    Column("title", String(500)),
    Column("quantity", String(40), nullable=False),  # decimals as the channel wrote them
    Column("gross_price", String(40), nullable=False),
    Column("total", String(40), nullable=False),
    Column("tax_percent", String(40), nullable=False),
    Column("item_status", String(30), nullable=False),
    Column("payment_status", String(30), nullable=False),
    Column("cancelled_quantity", String(40), nullable=False),
    Column("status_at", UTCDateTime, nullable=False),
    Column("payment_at", UTCDateTime, nullable=False),
)

cancellation_requests = Table(
    "cancellation_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("order_pk", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("request_id", String(150), nullable=False),
    Column("state", String(20), nullable=False),
    Column("cancel_reason", String(60)),
    Column("reason", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "request_id", name="uq_cancellation_requests_account_request"),
    Index("ix_cancellation_requests_order", "order_pk"),
)

order_history = Table(
    "order_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_pk", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("part", String(60), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_order_history_order", "order_pk"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("trigger", String(20), nullable=False),  # manual, worker, cli, web
    Column("status", String(20), nullable=False),  # running, succeeded, failed, refused, busy
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("events", Integer, nullable=False),
    Column("counts", JSON, nullable=False),  # {"order": {"applied": 3, ...}, ...}
    Column("error", Text),
    Column("owner", String(200)),
    Index("ix_sync_runs_account_started", "account_id", "started_at"),
)

HAS_DIGEST = text("digest IS NOT NULL")
PARKED = text("outcome = 'parked'")  # the partial index's condition, and its lookup's

received_events = Table(
    "received_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("wire_type", String(100), nullable=False),
    Column("event_type", String(40)),  # None for unknown and malformed events
    Column("order_id", String(200)),
    Column("created_at", UTCDateTime),
    Column("received_at", UTCDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("reason", Text),
    Column("raw", Text, nullable=False),
    Column("normalized", JSON),  # kept while parked, so the event can be applied later
    Column("sync_run_id", Integer),
    Column("digest", String(64)),  # of type, createdAt and payload: a replay under a new id has the same
    # A replay recognised by its digest (services/replays.py) names the settled event it
    # repeats here, and keeps `raw` empty and no digest: its text is that event's under
    # its own id (`store.received.list_events` puts it back together).
    Column("repeat_of", String(200)),
    UniqueConstraint("account_id", "event_id", name="uq_received_events_account_event"),
    Index("ix_received_events_account_outcome", "account_id", "outcome"),
    # Only parked events are looked up by order (store.received.parked_events). An index of
    # every row by order took each event a write at a random place in it: with a page's
    # thousand rows, most of a commit's pages (bench/README.md, session 7).
    Index("ix_received_events_parked_order", "account_id", "order_id", sqlite_where=PARKED, postgresql_where=PARKED),
    # Looked up by digest only with `digest IN (...)`; a replay's row has none, and is left out.
    Index("ix_received_events_account_digest", "account_id", "digest", sqlite_where=HAS_DIGEST,
          postgresql_where=HAS_DIGEST),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("state", String(20), nullable=False),  # running, stopping, stopped
    Column("doing", String(500)),
    Column("restart_requested", Boolean, nullable=False),
)

from channelport.store import auth as _auth  # noqa: E402,F401  (registers the auth tables)
