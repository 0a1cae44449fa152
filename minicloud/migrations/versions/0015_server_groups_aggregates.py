"""compute: server groups and their members, host aggregates and their hosts

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'server_groups',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('policy', sa.String(length=32), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_server_groups_project_id', 'server_groups', ['project_id'])
    op.create_table(
        'server_group_members',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('group_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['server_groups.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id'))
    op.create_index('ix_server_group_members_group_id', 'server_group_members',
                    ['group_id'])
    op.create_table(
        'aggregates',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('metadata', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('uuid'))
    op.create_table(
        'aggregate_hosts',
        sa.Column('aggregate_id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('aggregate_id', 'host'))
    op.create_index('ix_aggregate_hosts_host', 'aggregate_hosts', ['host'])


def downgrade() -> None:
    op.drop_index('ix_aggregate_hosts_host', table_name='aggregate_hosts')
    op.drop_table('aggregate_hosts')
    op.drop_table('aggregates')
    op.drop_index('ix_server_group_members_group_id', table_name='server_group_members')
    op.drop_table('server_group_members')
    op.drop_index('ix_server_groups_project_id', table_name='server_groups')
    op.drop_table('server_groups')
