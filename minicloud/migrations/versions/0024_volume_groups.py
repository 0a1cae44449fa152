"""volumes: generic volume groups, group types, group snapshots, group quota usage

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def _times() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'volume_group_types',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('is_public', sa.Boolean(), nullable=False),
        sa.Column('group_specs', sa.JSON(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('name'))
    op.create_table(
        'volume_groups',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('availability_zone', sa.String(length=255), nullable=False),
        sa.Column('group_type_id', sa.String(length=36), nullable=False),
        sa.Column('volume_type_ids', sa.JSON(), nullable=False),
        sa.Column('group_snapshot_id', sa.String(length=36), nullable=True),
        sa.Column('source_group_id', sa.String(length=36), nullable=True),
        *_times(),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_volume_groups_project_id', 'volume_groups', ['project_id'])
    op.create_index('ix_volume_groups_status', 'volume_groups', ['status'])
    op.create_index('ix_volume_groups_group_type_id', 'volume_groups', ['group_type_id'])
    op.create_table(
        'volume_group_snapshots',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('group_id', sa.String(length=36), nullable=False),
        sa.Column('group_type_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        *_times(),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_volume_group_snapshots_group_id', 'volume_group_snapshots',
                    ['group_id'])
    op.create_index('ix_volume_group_snapshots_project_id', 'volume_group_snapshots',
                    ['project_id'])
    op.create_index('ix_volume_group_snapshots_status', 'volume_group_snapshots', ['status'])
    # ADD COLUMN in place (nullable, or with a server default for the rows there are)
    op.add_column('volumes', sa.Column('group_id', sa.String(length=36), nullable=True))
    op.create_index('ix_volumes_group_id', 'volumes', ['group_id'])
    op.add_column('volume_snapshots', sa.Column('group_snapshot_id', sa.String(length=36),
                                                nullable=True))
    op.create_index('ix_volume_snapshots_group_snapshot_id', 'volume_snapshots',
                    ['group_snapshot_id'])
    op.add_column('volume_quota_usages', sa.Column('groups', sa.Integer(), nullable=False,
                                                   server_default=sa.text('0')))


def downgrade() -> None:
    with op.batch_alter_table('volume_quota_usages') as batch:
        batch.drop_column('groups')
    op.drop_index('ix_volume_snapshots_group_snapshot_id', table_name='volume_snapshots')
    with op.batch_alter_table('volume_snapshots') as batch:
        batch.drop_column('group_snapshot_id')
    op.drop_index('ix_volumes_group_id', table_name='volumes')
    with op.batch_alter_table('volumes') as batch:
        batch.drop_column('group_id')
    op.drop_table('volume_group_snapshots')
    op.drop_table('volume_groups')
    op.drop_table('volume_group_types')
