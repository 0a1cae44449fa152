"""compute: a server's accessIPv4 / accessIPv6

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place (a batch rebuild of a table others point at is not needed)
    op.add_column('instances', sa.Column('access_ip_v4', sa.String(length=39), nullable=True))
    op.add_column('instances', sa.Column('access_ip_v6', sa.String(length=39), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('access_ip_v6')
        batch.drop_column('access_ip_v4')
