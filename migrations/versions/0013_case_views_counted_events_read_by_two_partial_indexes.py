"""case views counted; case events read through two partial indexes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

VIEWS = "kind = 'case.viewed'"


def upgrade():
    op.create_table('case_view_counts',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_view_counts_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_view_counts'))
    )
    # The views recorded so far, counted once (events of purged cases stay
    # in the chain; they have no case to count for).
    op.execute(
        "INSERT INTO case_view_counts (case_id, views) "
        "SELECT case_id, count(*) FROM case_events "
        f"WHERE {VIEWS} AND case_id IN (SELECT id FROM cases) GROUP BY case_id"
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case_kind')
        batch_op.create_index('ix_case_events_views', ['case_id', 'seq'], unique=False, sqlite_where=sa.text(VIEWS), postgresql_where=sa.text(VIEWS))


def downgrade():
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_views', sqlite_where=sa.text(VIEWS), postgresql_where=sa.text(VIEWS))
        batch_op.create_index('ix_case_events_case_kind', ['case_id', 'kind', 'seq'], unique=False)
    op.drop_table('case_view_counts')
