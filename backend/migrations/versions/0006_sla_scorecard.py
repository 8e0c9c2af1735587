"""service standards: SLA clocks, complaints, ratings, follow-ups (revisits), satisfaction surveys

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

New tables only; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", name="fk_sla_clocks_ticket_id_tickets"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("warn_at", TIMESTAMP),
        sa.Column("warned_at", TIMESTAMP),
        sa.Column("escalated_at", TIMESTAMP),
        sa.Column("stopped_at", TIMESTAMP),
        sa.Column("outcome", sa.String(8)),
        sa.PrimaryKeyConstraint("id", name="pk_sla_clocks"),
        sa.UniqueConstraint("ticket_id", "kind", name="uq_sla_clocks_ticket_id_kind"),
    )
    op.create_index("ix_sla_clocks_outcome_due_at", "sla_clocks", ["outcome", "due_at"])

    op.create_table(
        "complaints",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", name="fk_complaints_ticket_id_tickets"), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column("handled_at", TIMESTAMP),
        sa.Column("handled_by_id", sa.Integer(), sa.ForeignKey("staff.id", name="fk_complaints_handled_by_id_staff")),
        sa.Column("reopened_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_complaints"),
    )

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", name="fk_ratings_ticket_id_tickets"), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        sa.UniqueConstraint("ticket_id", name="uq_ratings_ticket_id"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_ratings_score"),
    )
    op.create_index("ix_ratings_openid", "ratings", ["openid"])

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", name="fk_follow_ups_ticket_id_tickets"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", name="fk_follow_ups_staff_id_staff")),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column("closed_at", TIMESTAMP),
        sa.Column("closed_by_id", sa.Integer(), sa.ForeignKey("staff.id", name="fk_follow_ups_closed_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name="pk_follow_ups"),
        sa.UniqueConstraint("ticket_id", "kind", name="uq_follow_ups_ticket_id_kind"),
    )

    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("communities.id", name="fk_surveys_community_id_communities"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_surveys"),
        sa.UniqueConstraint("community_id", "year", name="uq_surveys_community_id_year"),
    )
    op.create_table(
        "survey_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", name="fk_survey_invites_survey_id_surveys"), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("house_id", sa.Integer(), sa.ForeignKey("houses.id", name="fk_survey_invites_house_id_houses")),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("last_answer_at", TIMESTAMP),
        sa.Column("finished_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_survey_invites"),
        sa.UniqueConstraint("survey_id", "openid", name="uq_survey_invites_survey_id_openid"),
    )
    op.create_index("ix_survey_invites_openid", "survey_invites", ["openid"])
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), sa.ForeignKey("survey_invites.id", name="fk_survey_answers_invite_id_survey_invites"), nullable=False),
        sa.Column("question", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_answers"),
        sa.UniqueConstraint("invite_id", "question", name="uq_survey_answers_invite_id_question"),
    )


def downgrade() -> None:
    for table in ("survey_answers", "survey_invites", "surveys", "follow_ups", "ratings", "complaints"):
        op.drop_table(table)
    op.drop_index("ix_sla_clocks_outcome_due_at", table_name="sla_clocks")
    op.drop_table("sla_clocks")
