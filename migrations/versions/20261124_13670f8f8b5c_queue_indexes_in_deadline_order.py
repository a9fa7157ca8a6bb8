"""Queue indexes in deadline order: a partial index for unclaimed work, one for jurisdiction-wide views.

Revision ID: 13670f8f8b5c
Revises: 0000bf9b2acd
Create Date: 2026-11-24 18:14:59.311878

"""
from alembic import op
import sqlalchemy as sa

from app.core.types import UTCDateTime  # noqa: F401  (autogenerate renders it)


# revision identifiers, used by Alembic.
revision = '13670f8f8b5c'
down_revision = '0000bf9b2acd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_human_task_queue'))
        batch_op.create_index('ix_human_task_due', ['due_at', 'id'], unique=False)
        batch_op.create_index('ix_human_task_unclaimed_due', ['candidate_org_id', 'candidate_role', 'due_at', 'id'], unique=False, postgresql_where=sa.text('assignee_id IS NULL'), sqlite_where=sa.text('assignee_id IS NULL'))



def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_unclaimed_due', postgresql_where=sa.text('assignee_id IS NULL'), sqlite_where=sa.text('assignee_id IS NULL'))
        batch_op.drop_index('ix_human_task_due')
        batch_op.create_index(batch_op.f('ix_human_task_queue'), ['candidate_org_id', 'candidate_role', 'assignee_id', 'due_at', 'id'], unique=False)

