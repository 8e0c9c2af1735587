"""outages and broadcast campaigns

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23
"""
import warnings

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("buildings", sa.Text(), nullable=True),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prepare", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("restored_at", TIMESTAMP, nullable=True),
        sa.Column("cancelled_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name="fk_outages_community_id_communities"),
        sa.PrimaryKeyConstraint("id", name="pk_outages"),
    )
    op.create_index("ix_outages_community_window", "outages", ["community_id", "starts_at", "ends_at"])
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("campaign", sa.String(64), nullable=True))
        batch.create_index("ix_outbound_messages_campaign", ["campaign"])


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_campaign")
        batch.drop_column("campaign")
    op.drop_table("outages")
