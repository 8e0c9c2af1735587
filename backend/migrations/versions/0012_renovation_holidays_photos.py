"""decoration management, continued: holidays and 调休 working days in the rules (their own
hours for noisy work), inspection photos uploaded in the console kept in the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renovation_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "community_id",
            sa.Integer(),
            sa.ForeignKey("communities.id", name="fk_renovation_holidays_community_id_communities"),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        # "" no noisy work; "08:00-12:00" those hours; NULL as on working days (a 调休 workday).
        sa.Column("noisy_hours", sa.String(100)),
        sa.PrimaryKeyConstraint("id", name="pk_renovation_holidays"),
        sa.UniqueConstraint("community_id", "starts_on", name="uq_renovation_holidays_community_id_starts_on"),
    )
    # A photo uploaded in the console is kept itself (a WeChat photo stays its PicUrl and MediaId).
    op.add_column("renovation_photos", sa.Column("filename", sa.String(100)))
    op.add_column("renovation_photos", sa.Column("content_type", sa.String(32)))
    op.add_column("renovation_photos", sa.Column("size", sa.Integer()))
    op.add_column("renovation_photos", sa.Column("data", sa.LargeBinary()))
    op.add_column("renovation_photos", sa.Column("thumb", sa.LargeBinary()))


def downgrade() -> None:
    with op.batch_alter_table("renovation_photos") as batch:
        batch.drop_column("thumb")
        batch.drop_column("data")
        batch.drop_column("size")
        batch.drop_column("content_type")
        batch.drop_column("filename")
    op.drop_table("renovation_holidays")
