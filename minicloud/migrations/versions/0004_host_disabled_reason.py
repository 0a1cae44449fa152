"""compute hosts: the reason an operator disabled a host's service

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('compute_hosts') as batch:
        batch.add_column(sa.Column('disabled_reason', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compute_hosts') as batch:
        batch.drop_column('disabled_reason')
