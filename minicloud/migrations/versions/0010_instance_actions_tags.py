"""compute: instance actions and their events, server tags, reservation ids

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('instances', sa.Column('reservation_id', sa.String(length=255),
                                         nullable=True))
    op.add_column('instances', sa.Column('launch_index', sa.Integer(), nullable=True))
    op.create_index('ix_instances_reservation_id', 'instances', ['reservation_id'])
    op.create_table(
        'instance_tags',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('tag', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'tag'))
    op.create_table(
        'instance_actions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('action', sa.String(length=255), nullable=False),
        sa.Column('request_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=True),
        sa.Column('project_id', sa.String(length=64), nullable=True),
        sa.Column('start_time', sa.DateTime(), nullable=False),
        sa.Column('finish_time', sa.DateTime(), nullable=True),
        sa.Column('message', sa.String(length=255), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_instance_actions_instance_request', 'instance_actions',
                    ['instance_id', 'request_id'])
    op.create_table(
        'instance_action_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=255), nullable=False),
        sa.Column('start_time', sa.DateTime(), nullable=False),
        sa.Column('finish_time', sa.DateTime(), nullable=True),
        sa.Column('result', sa.String(length=255), nullable=True),
        sa.Column('traceback', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('details', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['action_id'], ['instance_actions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_instance_action_events_action_id', 'instance_action_events',
                    ['action_id'])


def downgrade() -> None:
    op.drop_index('ix_instance_action_events_action_id', 'instance_action_events')
    op.drop_table('instance_action_events')
    op.drop_index('ix_instance_actions_instance_request', 'instance_actions')
    op.drop_table('instance_actions')
    op.drop_table('instance_tags')
    op.drop_index('ix_instances_reservation_id', 'instances')
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('launch_index')
        batch.drop_column('reservation_id')
