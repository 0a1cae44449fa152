"""volumes: backups, and their quota usage

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volume_backups',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('volume_id', sa.String(length=36), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('fail_reason', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('availability_zone', sa.String(length=255), nullable=True),
        sa.Column('container', sa.String(length=255), nullable=False),
        sa.Column('location', sa.String(length=600), nullable=False),
        sa.Column('parent_id', sa.String(length=36), nullable=True),
        sa.Column('is_incremental', sa.Boolean(), nullable=False),
        sa.Column('object_count', sa.Integer(), nullable=False),
        sa.Column('metadata', sa.JSON(), nullable=False),
        sa.Column('volume_meta', sa.JSON(), nullable=False),
        sa.Column('data_timestamp', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    for column in ('project_id', 'volume_id', 'status', 'parent_id'):
        op.create_index(f'ix_volume_backups_{column}', 'volume_backups', [column])
    op.add_column('volume_quota_usages', sa.Column('backups', sa.Integer(), nullable=False,
                                                   server_default=sa.text('0')))
    op.add_column('volume_quota_usages', sa.Column(
        'backup_gigabytes', sa.Integer(), nullable=False, server_default=sa.text('0')))


def downgrade() -> None:
    with op.batch_alter_table('volume_quota_usages') as batch:
        batch.drop_column('backup_gigabytes')
        batch.drop_column('backups')
    op.drop_table('volume_backups')
