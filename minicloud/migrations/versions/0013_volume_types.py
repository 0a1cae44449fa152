"""volumes: volume types (and their project access), qos-specs, quota limits, transfers

Revision ID: 0013
Revises: 0012

Existing volumes keep pointing at ``__DEFAULT__``, made here with the id the code used
before types were a table.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

DEFAULT_TYPE_ID = '4ee21aa8-9f8c-4bd2-9d6b-a1f7e1c0c001'


def upgrade() -> None:
    op.create_table('volume_qos_specs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('consumer', sa.String(length=16), nullable=False),
    sa.Column('specs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    types = op.create_table('volume_types',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('extra_specs', sa.JSON(), nullable=False),
    sa.Column('qos_specs_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['qos_specs_id'], ['volume_qos_specs.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('volume_type_projects',
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_type_id', 'project_id')
    )
    op.create_table('volume_quotas',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('hard_limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'owner', 'resource')
    )
    op.create_table('volume_transfers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('crypt_hash', sa.String(length=128), nullable=False),
    sa.Column('source_project_id', sa.String(length=64), nullable=False),
    sa.Column('destination_project_id', sa.String(length=64), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('no_snapshots', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_volume_transfers_volume_id'), 'volume_transfers', ['volume_id'],
                    unique=False)
    op.create_index(op.f('ix_volume_transfers_source_project_id'), 'volume_transfers',
                    ['source_project_id'], unique=False)
    # ADD COLUMN in place; the server default points every existing volume at __DEFAULT__
    op.add_column('volumes', sa.Column('volume_type_id', sa.String(length=36), nullable=False,
                                       server_default=sa.text(f"'{DEFAULT_TYPE_ID}'")))
    op.create_index(op.f('ix_volumes_volume_type_id'), 'volumes', ['volume_type_id'],
                    unique=False)
    now = sa.func.current_timestamp()
    op.execute(types.insert().values(
        id=DEFAULT_TYPE_ID, name='__DEFAULT__', description='Default Volume Type',
        is_public=True, extra_specs={}, created_at=now, updated_at=now))


def downgrade() -> None:
    op.drop_index(op.f('ix_volumes_volume_type_id'), table_name='volumes')
    with op.batch_alter_table('volumes') as batch:
        batch.drop_column('volume_type_id')
    op.drop_index(op.f('ix_volume_transfers_source_project_id'), table_name='volume_transfers')
    op.drop_index(op.f('ix_volume_transfers_volume_id'), table_name='volume_transfers')
    op.drop_table('volume_transfers')
    op.drop_table('volume_quotas')
    op.drop_table('volume_type_projects')
    op.drop_table('volume_types')
    op.drop_table('volume_qos_specs')
