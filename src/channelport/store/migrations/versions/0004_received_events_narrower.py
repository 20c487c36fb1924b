"""received events: a replay's row names the event it repeats; only parked rows are indexed by order

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PARKED = sa.text("outcome = 'parked'")


def upgrade() -> None:
    # A nullable column: SQLite and PostgreSQL both add it in place, without copying the table.
    with op.batch_alter_table('received_events') as batch:
        batch.add_column(sa.Column('repeat_of', sa.String(length=200), nullable=True))
    op.drop_index('ix_received_events_account_order', table_name='received_events')
    op.create_index('ix_received_events_parked_order', 'received_events', ['account_id', 'order_id'],
                    unique=False, sqlite_where=PARKED, postgresql_where=PARKED)


def downgrade() -> None:
    op.drop_index('ix_received_events_parked_order', table_name='received_events')
    op.create_index('ix_received_events_account_order', 'received_events', ['account_id', 'order_id'], unique=False)
    # Rows written since keep an empty `raw`; give them their original's text first.
    op.execute(
        "UPDATE received_events SET raw = (SELECT o.raw FROM received_events o "
        "WHERE o.account_id = received_events.account_id AND o.event_id = received_events.repeat_of) "
        "WHERE repeat_of IS NOT NULL AND raw = ''"
    )
    with op.batch_alter_table('received_events') as batch:
        batch.drop_column('repeat_of')
