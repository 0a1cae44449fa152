"""compute: the image store local to a compute host, and whether it requires images there

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('compute_hosts', sa.Column('image_store', sa.String(255), nullable=True))
    op.add_column('compute_hosts', sa.Column('image_store_required', sa.Boolean(),
                                             nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('compute_hosts') as batch:
        batch.drop_column('image_store_required')
        batch.drop_column('image_store')
