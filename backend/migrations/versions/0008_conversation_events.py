"""conversation events: the full record of the assistant's conversations (the live tracker in
Redis keeps only a short window); an index for an owner's unanswered messages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(64), nullable=False),
        sa.Column("type_name", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.Numeric(16, 6), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_events"),
    )
    op.create_index("ix_conversation_events_sender_id_id", "conversation_events", ["sender_id", "id"])
    op.create_index("ix_inbound_messages_openid_status", "inbound_messages", ["openid", "status"])


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_openid_status", table_name="inbound_messages")
    op.drop_index("ix_conversation_events_sender_id_id", table_name="conversation_events")
    op.drop_table("conversation_events")
