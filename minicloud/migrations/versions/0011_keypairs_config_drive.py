"""compute: keypairs; a server's key_data, user_data and config_drive

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'key_pairs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=8), nullable=False),
        sa.Column('fingerprint', sa.String(length=255), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name'),
    )
    op.create_index(op.f('ix_key_pairs_user_id'), 'key_pairs', ['user_id'], unique=False)
    # ADD COLUMN in place; existing servers had no config drive
    op.add_column('instances', sa.Column('key_data', sa.Text(), nullable=True))
    op.add_column('instances', sa.Column('user_data', sa.Text(), nullable=True))
    op.add_column('instances', sa.Column('config_drive', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('config_drive')
        batch.drop_column('user_data')
        batch.drop_column('key_data')
    op.drop_index(op.f('ix_key_pairs_user_id'), table_name='key_pairs')
    op.drop_table('key_pairs')
