"""inbound messages waiting to be handled read through a partial index

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

WAITING = "processed_at IS NULL"


def upgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_messages_waiting', ['id'], unique=False, sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))


def downgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_messages_waiting', sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
