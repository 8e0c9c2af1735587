"""communities: whether the service desk's number is staffed 24 hours, and the duty (monitoring)
number that is, so the assistant says "24小时" only of a number that really is

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("hotline_24h", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("duty_phone", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("duty_phone")
        batch.drop_column("hotline_24h")
