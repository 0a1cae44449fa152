"""compute: flavor access lists, quota classes, and each host's reported uptime

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'flavor_projects',
        sa.Column('flavor_id', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('flavor_id', 'project_id'),
    )
    op.create_table(
        'compute_quota_classes',
        sa.Column('class_name', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=64), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('class_name', 'resource'),
    )
    # ADD COLUMN in place (a batch rebuild of a table others point at is not needed)
    op.add_column('compute_hosts', sa.Column('uptime', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compute_hosts') as batch:
        batch.drop_column('uptime')
    op.drop_table('compute_quota_classes')
    op.drop_table('flavor_projects')
