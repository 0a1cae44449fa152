"""compute: a server's own hostname (2.90) and its security group names

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL on existing rows: the hostname derived from the name, the ["default"] group
    op.add_column('instances', sa.Column('hostname', sa.String(length=255), nullable=True))
    op.add_column('instances', sa.Column('security_groups', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('security_groups')
        batch.drop_column('hostname')
