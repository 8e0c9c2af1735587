"""inspection photos sent from WeChat downloaded and kept in the database (their tries and why
one could not be kept)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("renovation_photos", sa.Column("fetch_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("renovation_photos", sa.Column("fetch_error", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("renovation_photos") as batch:
        batch.drop_column("fetch_error")
        batch.drop_column("fetch_attempts")
