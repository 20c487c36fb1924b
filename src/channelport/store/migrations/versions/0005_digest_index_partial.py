"""received events: only rows with a digest are indexed by it

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

HAS_DIGEST = sa.text("digest IS NOT NULL")


def upgrade() -> None:
    # A replay's row has no digest (0004), and a request again writes one per event: all
    # of them went into this index too, where no lookup (`digest IN (...)`) finds them.
    op.drop_index('ix_received_events_account_digest', table_name='received_events')
    op.create_index('ix_received_events_account_digest', 'received_events', ['account_id', 'digest'],
                    unique=False, sqlite_where=HAS_DIGEST, postgresql_where=HAS_DIGEST)


def downgrade() -> None:
    op.drop_index('ix_received_events_account_digest', table_name='received_events')
    op.create_index('ix_received_events_account_digest', 'received_events', ['account_id', 'digest'], unique=False)
