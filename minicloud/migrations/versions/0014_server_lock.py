"""compute: a server's lock (locked_by, locked_reason)

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place (a batch rebuild of a table others point at is not needed)
    op.add_column('instances', sa.Column('locked_by', sa.String(length=5), nullable=True))
    op.add_column('instances', sa.Column('locked_reason', sa.String(length=255),
                                         nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('locked_reason')
        batch.drop_column('locked_by')
