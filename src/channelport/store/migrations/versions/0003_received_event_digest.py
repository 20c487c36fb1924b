"""received events keep a digest of their content, to recognise a replay without its order

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('received_events') as batch:
        batch.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
        batch.create_index('ix_received_events_account_digest', ['account_id', 'digest'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('received_events') as batch:
        batch.drop_index('ix_received_events_account_digest')
        batch.drop_column('digest')
