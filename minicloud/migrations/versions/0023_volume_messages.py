"""volumes: user messages (Cinder's messages API, 3.3); the snapshot a backup was made of

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volume_messages',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('request_id', sa.String(255), nullable=False),
        sa.Column('resource_type', sa.String(36), nullable=True),
        sa.Column('resource_uuid', sa.String(36), nullable=True),
        sa.Column('event_id', sa.String(64), nullable=False),
        sa.Column('message_level', sa.String(32), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_volume_messages_project_id', 'volume_messages', ['project_id'])
    op.create_index('ix_volume_messages_resource_uuid', 'volume_messages', ['resource_uuid'])
    op.create_index('ix_volume_messages_expires_at', 'volume_messages', ['expires_at'])
    op.add_column('volume_backups', sa.Column('snapshot_id', sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('volume_backups') as batch:
        batch.drop_column('snapshot_id')
    op.drop_table('volume_messages')
