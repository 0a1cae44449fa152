"""images, compute, volumes: tables added with the shared API layer

Revision ID: 0008
Revises: 0007
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # compute: per-project quota limits (os-quota-sets PUT)
    op.create_table(
        "compute_quotas",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("resource", sa.String(64), primary_key=True),
        sa.Column("hard_limit", sa.Integer(), nullable=False))


def downgrade() -> None:
    op.drop_table("compute_quotas")
