"""images: Glance tasks (one per import), expiring after [image] task_time_to_live

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'image_tasks',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=30), nullable=False),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('image_id', sa.String(length=36), nullable=True),
        sa.Column('user_id', sa.String(length=64), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('input', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_image_tasks_status', 'image_tasks', ['status'])
    op.create_index('ix_image_tasks_owner', 'image_tasks', ['owner'])
    op.create_index('ix_image_tasks_image_id', 'image_tasks', ['image_id'])
    op.create_index('ix_image_tasks_expires_at', 'image_tasks', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_image_tasks_expires_at', table_name='image_tasks')
    op.drop_index('ix_image_tasks_image_id', table_name='image_tasks')
    op.drop_index('ix_image_tasks_owner', table_name='image_tasks')
    op.drop_index('ix_image_tasks_status', table_name='image_tasks')
    op.drop_table('image_tasks')
