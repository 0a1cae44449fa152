"""volumes: a volume host's services disabled (with a reason) and the host frozen

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # {binary: reason} of the disabled services ("" when no reason was given)
    op.add_column('volume_hosts', sa.Column('disabled', sa.JSON(), nullable=True))
    op.add_column('volume_hosts', sa.Column('frozen', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('volume_hosts') as batch:
        batch.drop_column('frozen')
        batch.drop_column('disabled')
