"""volumes: volume type encryption specs, quota usage per volume type

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volume_type_quota_usages',
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('volume_type_id', sa.String(length=36), nullable=False),
        sa.Column('volumes', sa.Integer(), nullable=False),
        sa.Column('gigabytes', sa.Integer(), nullable=False),
        sa.Column('snapshots', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'volume_type_id'))
    # What projects already hold, per type, so per-type limits set later count it.
    op.execute(
        "INSERT INTO volume_type_quota_usages "
        "(project_id, volume_type_id, volumes, gigabytes, snapshots) "
        "SELECT project_id, volume_type_id, COUNT(*), SUM(size), 0 FROM volumes "
        "WHERE status != 'deleted' GROUP BY project_id, volume_type_id")
    op.execute(
        "UPDATE volume_type_quota_usages SET "
        "snapshots = (SELECT COUNT(*) FROM volume_snapshots s JOIN volumes v "
        "ON v.id = s.volume_id WHERE s.status != 'deleted' "
        "AND s.project_id = volume_type_quota_usages.project_id "
        "AND v.volume_type_id = volume_type_quota_usages.volume_type_id), "
        "gigabytes = gigabytes + (SELECT COALESCE(SUM(s.size), 0) FROM volume_snapshots s "
        "JOIN volumes v ON v.id = s.volume_id WHERE s.status != 'deleted' "
        "AND s.project_id = volume_type_quota_usages.project_id "
        "AND v.volume_type_id = volume_type_quota_usages.volume_type_id)")
    op.create_table(
        'volume_type_encryption',
        sa.Column('volume_type_id', sa.String(length=36), nullable=False),
        sa.Column('encryption_id', sa.String(length=36), nullable=False),
        sa.Column('provider', sa.String(length=255), nullable=False),
        sa.Column('cipher', sa.String(length=255), nullable=True),
        sa.Column('key_size', sa.Integer(), nullable=True),
        sa.Column('control_location', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('volume_type_id'),
        sa.UniqueConstraint('encryption_id'))


def downgrade() -> None:
    op.drop_table('volume_type_encryption')
    op.drop_table('volume_type_quota_usages')
