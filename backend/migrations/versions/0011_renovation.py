"""decoration management (装修管理): rules per community, applications and their history,
worker passes, inspections and their photos

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "renovation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), _fk("renovation_rules", "community_id", "communities"), nullable=False),
        sa.Column("noisy_hours", sa.String(100), nullable=False),
        sa.Column("weekend_hours", sa.String(100)),
        sa.Column("deposit", sa.Numeric(12, 2), nullable=False),
        sa.Column("forbidden", sa.Text(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_rules"),
        sa.UniqueConstraint("community_id", name="uq_renovation_rules_community_id"),
    )
    op.create_table(
        "renovation_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column(
            "community_id", sa.Integer(), _fk("renovation_applications", "community_id", "communities"), nullable=False
        ),
        sa.Column("house_id", sa.Integer(), _fk("renovation_applications", "house_id", "houses"), nullable=False),
        sa.Column("work", sa.Text(), nullable=False),
        sa.Column("contractor", sa.String(100), nullable=False),
        sa.Column("contractor_phone", sa.String(32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deposit", sa.Numeric(12, 2)),
        sa.Column("return_reason", sa.Text()),
        sa.Column("decided_at", TIMESTAMP),
        sa.Column("accepted_at", TIMESTAMP),
        sa.Column("deposit_returned", sa.Numeric(12, 2)),
        sa.Column("deposit_note", sa.Text()),
        sa.Column("source_key", sa.String(128)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_applications"),
        sa.UniqueConstraint("number", name="uq_renovation_applications_number"),
        sa.UniqueConstraint("source_key", name="uq_renovation_applications_source_key"),
    )
    op.create_index(
        "ix_renovation_applications_community_id_status", "renovation_applications", ["community_id", "status"]
    )
    op.create_index("ix_renovation_applications_openid", "renovation_applications", ["openid"])
    op.create_table(
        "renovation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer(),
            _fk("renovation_steps", "application_id", "renovation_applications"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_steps"),
    )
    op.create_index("ix_renovation_steps_application_id", "renovation_steps", ["application_id"])
    op.create_table(
        "renovation_passes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer(),
            _fk("renovation_passes", "application_id", "renovation_applications"),
            nullable=False,
        ),
        sa.Column("worker_name", sa.String(50), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("issued_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_passes"),
        sa.UniqueConstraint("number", name="uq_renovation_passes_number"),
    )
    op.create_index("ix_renovation_passes_application_id", "renovation_passes", ["application_id"])
    op.create_table(
        "renovation_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey("renovation_applications.id", name="fk_renovation_inspections_application"),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Integer(), _fk("renovation_inspections", "staff_id", "staff")),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("violation", sa.Boolean(), nullable=False),
        sa.Column("handled_at", TIMESTAMP),
        sa.Column("handled_note", sa.Text()),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_inspections"),
    )
    op.create_index("ix_renovation_inspections_application_id", "renovation_inspections", ["application_id"])
    op.create_table(
        "renovation_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "inspection_id",
            sa.Integer(),
            _fk("renovation_photos", "inspection_id", "renovation_inspections"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("media_id", sa.String(128)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_photos"),
    )
    op.create_index("ix_renovation_photos_inspection_id", "renovation_photos", ["inspection_id"])


def downgrade() -> None:
    op.drop_index("ix_renovation_photos_inspection_id", table_name="renovation_photos")
    op.drop_table("renovation_photos")
    op.drop_index("ix_renovation_inspections_application_id", table_name="renovation_inspections")
    op.drop_table("renovation_inspections")
    op.drop_index("ix_renovation_passes_application_id", table_name="renovation_passes")
    op.drop_table("renovation_passes")
    op.drop_index("ix_renovation_steps_application_id", table_name="renovation_steps")
    op.drop_table("renovation_steps")
    op.drop_index("ix_renovation_applications_openid", table_name="renovation_applications")
    op.drop_index("ix_renovation_applications_community_id_status", table_name="renovation_applications")
    op.drop_table("renovation_applications")
    op.drop_table("renovation_rules")
