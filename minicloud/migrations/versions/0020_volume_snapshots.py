"""volumes: snapshots, what a volume was made from, snapshot quota usage

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volume_snapshots',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('volume_id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('progress', sa.String(length=255), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('metadata', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_volume_snapshots_volume_id', 'volume_snapshots', ['volume_id'])
    op.create_index('ix_volume_snapshots_project_id', 'volume_snapshots', ['project_id'])
    op.create_index('ix_volume_snapshots_status', 'volume_snapshots', ['status'])
    # ADD COLUMN in place (nullable, or with a server default for the rows there are)
    op.add_column('volumes', sa.Column('snapshot_id', sa.String(length=36), nullable=True))
    op.add_column('volumes', sa.Column('source_volid', sa.String(length=36), nullable=True))
    op.create_index('ix_volumes_snapshot_id', 'volumes', ['snapshot_id'])
    op.create_index('ix_volumes_source_volid', 'volumes', ['source_volid'])
    op.add_column('volume_quota_usages', sa.Column('snapshots', sa.Integer(), nullable=False,
                                                   server_default=sa.text('0')))


def downgrade() -> None:
    with op.batch_alter_table('volume_quota_usages') as batch:
        batch.drop_column('snapshots')
    op.drop_index('ix_volumes_source_volid', table_name='volumes')
    op.drop_index('ix_volumes_snapshot_id', table_name='volumes')
    with op.batch_alter_table('volumes') as batch:
        batch.drop_column('source_volid')
        batch.drop_column('snapshot_id')
    op.drop_table('volume_snapshots')
