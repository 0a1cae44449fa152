"""identity: regions, services, endpoints, credentials, application credentials

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _id(length: int = 64) -> sa.Column:
    return sa.Column('id', sa.String(length=length), nullable=False)


def _extra() -> sa.Column:
    return sa.Column('extra', sa.Text(), nullable=False)


def _catalog() -> None:
    op.create_table('regions',
    _id(255),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('parent_region_id', sa.String(length=255), nullable=True),
    _extra(),
    sa.ForeignKeyConstraint(['parent_region_id'], ['regions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('catalog_services',
    _id(),
    sa.Column('type', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    _extra(),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_catalog_services_type'), 'catalog_services', ['type'],
                    unique=False)
    op.create_table('endpoints',
    _id(),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('interface', sa.String(length=8), nullable=False),
    sa.Column('region_id', sa.String(length=255), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    _extra(),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ),
    sa.ForeignKeyConstraint(['service_id'], ['catalog_services.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_endpoints_service_id'), 'endpoints', ['service_id'], unique=False)
    op.create_table('endpoint_groups',
    _id(),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('filters', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('policy_blobs',
    _id(),
    sa.Column('type', sa.String(length=255), nullable=False),
    sa.Column('blob', sa.Text(), nullable=False),
    _extra(),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('oauth_consumers',
    _id(),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('secret_hash', sa.String(length=255), nullable=False),
    _extra(),
    sa.PrimaryKeyConstraint('id')
    )


def _credentials() -> None:
    op.create_table('credentials',
    _id(),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=255), nullable=False),
    sa.Column('encrypted_blob', sa.Text(), nullable=False),
    _extra(),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_credentials_user_id'), 'credentials', ['user_id'], unique=False)
    op.create_table('application_credentials',
    _id(),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('secret_hash', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('unrestricted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'name')
    )
    op.create_index(op.f('ix_application_credentials_user_id'), 'application_credentials',
                    ['user_id'], unique=False)
    op.create_table('application_credential_roles',
    sa.Column('application_credential_id', sa.String(length=64), nullable=False),
    sa.Column('role_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['application_credential_id'], ['application_credentials.id'],
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('application_credential_id', 'role_id')
    )
    op.create_table('access_rules',
    _id(),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('service', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=128), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'service', 'path', 'method')
    )
    op.create_index(op.f('ix_access_rules_user_id'), 'access_rules', ['user_id'], unique=False)
    op.create_table('application_credential_access_rules',
    sa.Column('application_credential_id', sa.String(length=64), nullable=False),
    sa.Column('access_rule_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['access_rule_id'], ['access_rules.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['application_credential_id'], ['application_credentials.id'],
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('application_credential_id', 'access_rule_id')
    )


def upgrade() -> None:
    _catalog()
    _credentials()


def downgrade() -> None:
    for table in ('application_credential_access_rules', 'access_rules',
                  'application_credential_roles', 'application_credentials', 'credentials',
                  'oauth_consumers', 'policy_blobs', 'endpoint_groups', 'endpoints',
                  'catalog_services', 'regions'):
        op.drop_table(table)
