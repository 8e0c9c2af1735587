"""staff dispatch: duty roster, ticket assignments, binding codes, outbound delivery records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

batch_alter_table so SQLite (which cannot add foreign keys or unique constraints in place)
gets the same schema as PostgreSQL.
"""
import warnings

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # SQLite batch mode reflects related tables; their expression index cannot be reflected (and
    # is not touched here).
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bind_code_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("bind_code_expires_at", TIMESTAMP, nullable=True))
        batch.create_foreign_key("fk_staff_community_id_communities", "communities", ["community_id"], ["id"])
        batch.create_unique_constraint("uq_staff_bind_code_hash", ["bind_code_hash"])

    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("skill", sa.String(16), nullable=True))
        batch.create_foreign_key("fk_tickets_assignee_id_staff", "staff", ["assignee_id"], ["id"])
        batch.create_index("ix_tickets_assignee_id", ["assignee_id"])

    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("template", sa.Text(), nullable=True))
        batch.add_column(sa.Column("purpose", sa.String(32), nullable=False, server_default="reply"))
        batch.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dedupe_key", sa.String(128), nullable=True))
        batch.add_column(sa.Column("fallback_of", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("claimed_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_outbound_messages_ticket_id_tickets", "tickets", ["ticket_id"], ["id"])
        batch.create_foreign_key(
            "fk_outbound_messages_fallback_of_outbound_messages", "outbound_messages", ["fallback_of"], ["id"]
        )
        batch.create_unique_constraint("uq_outbound_messages_dedupe_key", ["dedupe_key"])
        batch.create_index("ix_outbound_messages_ticket_id", ["ticket_id"])
        batch.create_index("ix_outbound_messages_status", ["status"])

    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_duty_shifts_staff_id_staff"),
        sa.PrimaryKeyConstraint("id", name="pk_duty_shifts"),
    )
    op.create_index("ix_duty_shifts_staff_id", "duty_shifts", ["staff_id"])
    op.create_index("ix_duty_shifts_window", "duty_shifts", ["starts_at", "ends_at"])

    op.create_table(
        "ticket_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assigned_at", TIMESTAMP, nullable=False),
        sa.Column("ack_due_at", TIMESTAMP, nullable=True),
        sa.Column("acked_at", TIMESTAMP, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_assignments_ticket_id_tickets"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_ticket_assignments_staff_id_staff"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_assignments"),
    )
    op.create_index("ix_ticket_assignments_ticket_id", "ticket_assignments", ["ticket_id"])
    op.create_index("ix_ticket_assignments_staff_id", "ticket_assignments", ["staff_id"])
    op.create_index("ix_ticket_assignments_ack_due_at", "ticket_assignments", ["ack_due_at"])


def downgrade() -> None:
    op.drop_table("ticket_assignments")
    op.drop_table("duty_shifts")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_status")
        batch.drop_index("ix_outbound_messages_ticket_id")
        batch.drop_constraint("uq_outbound_messages_dedupe_key", type_="unique")
        batch.drop_constraint("fk_outbound_messages_fallback_of_outbound_messages", type_="foreignkey")
        batch.drop_constraint("fk_outbound_messages_ticket_id_tickets", type_="foreignkey")
        for col in ("last_error", "claimed_at", "next_attempt_at", "attempts", "fallback_of",
                    "dedupe_key", "ticket_id", "purpose", "template"):
            batch.drop_column(col)
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_assignee_id")
        batch.drop_constraint("fk_tickets_assignee_id_staff", type_="foreignkey")
        batch.drop_column("skill")
        batch.drop_column("assignee_id")
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint("uq_staff_bind_code_hash", type_="unique")
        batch.drop_constraint("fk_staff_community_id_communities", type_="foreignkey")
        batch.drop_column("bind_code_expires_at")
        batch.drop_column("bind_code_hash")
        batch.drop_column("community_id")
