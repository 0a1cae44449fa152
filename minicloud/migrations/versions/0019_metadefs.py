"""images: metadata definitions (namespaces, resource types and associations, objects,
properties, tags) and the record of the shipped catalog's loads

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False)]


def _content(name: str, *columns: sa.Column) -> None:
    """A table of things a namespace contains, unique by name within it."""
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        *columns,
        *_stamps(),
        sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespaces.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('namespace_id', 'name'))
    op.create_index(f'ix_{name}_namespace_id', name, ['namespace_id'])


def upgrade() -> None:
    op.create_table(
        'metadef_namespaces',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace', sa.String(length=80), nullable=False),
        sa.Column('display_name', sa.String(length=80), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('visibility', sa.String(length=32), nullable=False),
        sa.Column('protected', sa.Boolean(), nullable=False),
        sa.Column('owner', sa.String(length=255), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('namespace'))
    op.create_index('ix_metadef_namespaces_owner', 'metadef_namespaces', ['owner'])
    op.create_table(
        'metadef_resource_types',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('protected', sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'))
    op.create_table(
        'metadef_namespace_resource_types',
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('resource_type_id', sa.Integer(), nullable=False),
        sa.Column('prefix', sa.String(length=80), nullable=True),
        sa.Column('properties_target', sa.String(length=80), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespaces.id'],
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['resource_type_id'], ['metadef_resource_types.id']),
        sa.PrimaryKeyConstraint('namespace_id', 'resource_type_id'))
    _content('metadef_objects',
             sa.Column('description', sa.Text(), nullable=True),
             sa.Column('required', sa.JSON(), nullable=False),
             sa.Column('properties', sa.JSON(), nullable=False))
    _content('metadef_properties', sa.Column('definition', sa.JSON(), nullable=False))
    _content('metadef_tags')
    op.create_table(
        'metadef_catalog_loads',
        sa.Column('namespace', sa.String(length=80), nullable=False),
        sa.Column('loaded_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('namespace'))


def downgrade() -> None:
    for name in ('metadef_catalog_loads', 'metadef_tags', 'metadef_properties',
                 'metadef_objects', 'metadef_namespace_resource_types',
                 'metadef_resource_types', 'metadef_namespaces'):
        op.drop_table(name)
