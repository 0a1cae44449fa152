"""key manager: secrets (Barbican v1), payloads sealed; a server's trusted image certificates

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'km_secrets',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('creator_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('secret_type', sa.String(length=20), nullable=False),
        sa.Column('algorithm', sa.String(length=255), nullable=True),
        sa.Column('bit_length', sa.Integer(), nullable=True),
        sa.Column('mode', sa.String(length=255), nullable=True),
        sa.Column('expiration', sa.DateTime(), nullable=True),
        sa.Column('content_type', sa.String(length=255), nullable=True),
        sa.Column('sealed', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_km_secrets_project_id', 'km_secrets', ['project_id'])
    op.create_index('ix_km_secrets_name', 'km_secrets', ['name'])
    op.add_column('instances', sa.Column('trusted_certs', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('trusted_certs')
    op.drop_index('ix_km_secrets_name', table_name='km_secrets')
    op.drop_index('ix_km_secrets_project_id', table_name='km_secrets')
    op.drop_table('km_secrets')
